"""The fast path (libyaml) reads exactly what the exact path (ruamel.yaml) reads, or leaves the file to it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from reconciler import yamlio
from reconciler.yamlio import UNUSUAL, Positions, fast_load, fast_load_split, map_parts, parse, parse_checked, read_text

pytest.importorskip("yaml", reason="the fast path needs PyYAML")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))


def _exact(text: str):
    document, diagnostics = parse(text, "t.yaml", exact=True, max_nodes=None)
    assert document is not None and not diagnostics, diagnostics
    return document


def _same(a, b) -> None:
    """Equal, and of the same types all the way down (True is not 1, a date is not a string)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


def _yaml_files() -> list[Path]:
    return sorted(p for p in (ROOT / "examples").rglob("*.yaml"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_read_the_same_on_both_paths_positions_too(path):
    text, _ = read_text(path, str(path))
    keys, values = {}, {}
    data = fast_load(text, keys, values)
    assert data is not UNUSUAL
    exact = _exact(text)
    _same(data, exact.data)
    assert keys == exact.positions.keys and values == exact.positions.values


def test_a_generated_repo_reads_the_same_on_both_paths(tmp_path):
    generate(40, tmp_path)
    for path in [tmp_path / "state.yaml", *sorted((tmp_path / "customers").glob("*.yaml"))]:
        text = path.read_text()
        keys, values = {}, {}
        data = fast_load(text, keys, values)
        exact = _exact(text)
        _same(data, exact.data)
        assert keys == exact.positions.keys and values == exact.positions.values


SCALARS = ["1y", "5y", "0", "-0", "12", "007", "0o17", "0x1F", "1_000", "1e3", "1.5", ".5", "+5", "1.", "-.inf",
           ".nan", "2026-01-01", "2026-1-1", "2026-13-01", "2026-01-01 10:00:00", "2026-01-01T10:00:00Z", "yes", "no",
           "on", "off", "y", "Yes", "NO", "true", "False", "TRUE", "~", "null", "Null", "NuLL", "", "12:30",
           "9C7514000001", "SW-001", "-", "a b", "café", "'q'", '"dq"', "x#y", "3.0.1", "1/2", "1,5", "0b101",
           "99999999999999999999999", "123456789012345678", "-1", "=", "<<", "!!str 12", "!!int '12'", "! x"]


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("shape", ["k: {}\n", "{}: 1\n", "k: [{}]\n", "- {}\n"])
def test_a_scalar_means_what_yaml_1_2_says_or_is_left_to_the_exact_path(scalar, shape):
    text = shape.format(scalar)
    data = fast_load(text)
    if data is UNUSUAL:
        return
    _same(data, _exact(text).data)


@pytest.mark.parametrize("text", [
    "a: &x {k: 1}\nb: *x\n",                 # an alias of a collection (a scalar's reads the same)
    "base: {k: 1}\nother:\n  <<: {k: 2}\n",  # a merge key
    "a: 1\na: 2\n",                          # a duplicate key
    "a: !custom 1\n",                        # a tag
    "a: !!python/object:os.system x\n",
    "? [a, b]\n: 1\n",                       # a key that is not a scalar
    "%YAML 1.1\n---\na: yes\n",              # a directive
    "a: b\u2028c\n",                         # a line break only for YAML 1.1
    "a: 1\n---\nb: 2\n",                     # two documents
    "a: [1, 2\n",                            # a syntax error
    "a:\n\tb: 1\n",                          # a tab
    "a: 1.5\n",                              # a float: the exact path decides
])
def test_anything_unusual_is_left_to_the_exact_path(text):
    assert fast_load(text) is UNUSUAL


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: yes\nb: on\n", "a: 2026-01-01\nb: '12'\n"])
def test_what_both_paths_read_alike_stays_on_the_fast_path(text):
    keys, values = {}, {}
    data = fast_load(text, keys, values)
    exact = _exact(text)
    _same(data, exact.data)
    assert keys == exact.positions.keys and values == exact.positions.values


def test_too_deep_is_left_to_the_exact_path():
    assert fast_load("a: " + "[" * 60 + "]" * 60 + "\n") is UNUSUAL


def test_a_fast_document_finds_its_positions_only_when_asked():
    document, diagnostics = parse("customer: acme\ncompany: Acme\n", "c.yaml")
    assert not document.exact and not diagnostics
    assert document.positions._keys is None  # nothing computed yet
    assert document.positions.key(("company",)).line == 2
    assert document.positions.value(("company",)).column == 10


def test_an_empty_value_takes_its_positions_from_the_exact_path():
    text = "customer: acme\ncompany:\ncontacts: []\n"
    positions = Positions.deferred("c.yaml", text)
    assert positions.values == _exact(text).positions.values


def test_any_diagnostic_sends_the_file_to_the_exact_path():
    seen = []

    def check(document):
        seen.append(document.exact)
        return None, ([] if document.exact else ["a problem"])

    assert parse_checked("a: 1\n", "t.yaml", check) == (None, [])
    assert seen == [False, True]


def _big_state(customers: int) -> str:
    lines = ["as_of: 2026-11-22", "partner:", "  overdue_since: null", "customers:"]
    for n in range(customers):
        lines += [f"  c{n:05}:  # customer {n}", f"    company: Company {n}",
                  f"    contacts: [{{name: Jo, email: jo@c{n}.example}}]", "    pbxes:", f"      p{n:05}:",
                  "        serial: SW-1", "        model: cloud", "        region: eu", "        term: 1y",
                  "        expires_on: 2027-01-01", "        licenses: {basic: 1}"]
    return "\n".join(lines) + "\nstock: {WorkForce: 3}\n"


def test_a_big_snapshot_is_read_in_pieces_to_the_same_data(monkeypatch):
    monkeypatch.setattr(yamlio, "SPLIT_MIN_BYTES", 10_000)
    monkeypatch.setattr(yamlio, "PIECE_BYTES", 5_000)
    text = _big_state(300)
    head, pieces = yamlio._split_block(text, "customers")
    assert len(pieces) > 3 and "stock:" in head and "c00001" not in head
    data = fast_load_split(text, "customers")
    _same(data, fast_load(text))
    assert list(data) == ["as_of", "partner", "customers", "stock"] and len(data["customers"]) == 300
    assert data["as_of"] == dt.date(2026, 11, 22)


def test_a_key_repeated_across_pieces_is_found_by_the_whole_text(monkeypatch):
    monkeypatch.setattr(yamlio, "SPLIT_MIN_BYTES", 10_000)
    monkeypatch.setattr(yamlio, "PIECE_BYTES", 5_000)
    text = _big_state(300).replace("  c00299:", "  c00000:")
    assert fast_load_split(text, "customers") is UNUSUAL
    document, diagnostics = parse(text, "state.yaml", max_nodes=None, split="customers")
    assert document is not None and document.exact
    assert [d.message for d in diagnostics] == ["duplicate key 'c00000' (first defined on line 5)"]


def test_a_cut_inside_a_multi_line_value_is_refused_by_the_parser(monkeypatch):
    monkeypatch.setattr(yamlio, "SPLIT_MIN_BYTES", 10)
    monkeypatch.setattr(yamlio, "PIECE_BYTES", 10)
    text = 'customers:\n  a:\n    company: "two\n  b: lines"\n'
    assert fast_load_split(text, "customers") == fast_load(text) == {"customers": {"a": {"company": "two b: lines"}}}


def _double(items: list[int]) -> list[int]:
    return [2 * item for item in items]


def test_work_is_shared_between_processes_in_order():
    assert map_parts(_double, list(range(1000)), min_items=10) == [2 * n for n in range(1000)]
    assert map_parts(_double, [1, 2], min_items=10) == [2, 4]
