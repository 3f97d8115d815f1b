"""The reader (libyaml, a YAML 1.2 core resolver) reads what ruamel.yaml's own safe load reads.

A differential test: on the example files, the malformed corpus, generated repos and a list
of tricky scalars, both give the same data (same types all the way down), or both refuse the
text. The reader's own limits (too many values, aliases that expand too far, nesting, huge
numbers) refuse what ruamel.yaml would read: those are the only allowed differences, and
each is named. Positions are compared with the marks of ruamel.yaml's nodes.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.cli import main
from reconciler.diagnostics import Severity
from reconciler.yamlio import parse, read_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

LIMITS = ("too many values", "aliases expand to more than", "nesting is too deep", "digits is too large",
          "is an alias inside its own anchor", "control character", "file is empty", "a key must be a plain scalar",
          "merge keys")


def _ruamel(text: str):
    """(data, None) as ruamel.yaml's safe load reads the text, or (None, the exception)."""
    try:
        return YAML(typ="safe", pure=True).load(text), None
    except Exception as exc:  # noqa: BLE001 - any refusal counts as one
        return None, exc


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
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def _agree(text: str, display: str = "t.yaml") -> None:
    document, diagnostics = parse(text, display, max_nodes=None)
    errors = [d for d in diagnostics if d.severity == Severity.ERROR]
    theirs, refused = _ruamel(text)
    if errors and any(limit in d.message for d in errors for limit in LIMITS):
        return  # a limit of ours, not a difference of grammar
    if refused is not None:
        assert document is None or errors, f"ruamel.yaml refuses ({refused!r}); the reader does not"
        return
    assert document is not None and not errors, f"the reader refuses what ruamel.yaml reads: {diagnostics}"
    _same(document.data, theirs)


def _marks(node, path=(), keys=None, values=None):
    """The positions ruamel.yaml's composed nodes give each path (as the reader records them)."""
    keys = {} if keys is None else keys
    values = {} if values is None else values
    values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if node.id == "mapping":
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _marks(value_node, child, keys, values)
    elif node.id == "sequence":
        for index, item in enumerate(node.value):
            _marks(item, (*path, index), keys, values)
    return keys, values


def _same_positions(text: str) -> None:
    document, _ = parse(text, "t.yaml", max_nodes=None)
    keys, values = _marks(YAML(typ="safe", pure=True).compose(text))
    assert document.positions.keys == keys
    assert {p: v for p, v in document.positions.values.items() if p in values} == values


def _yaml_files() -> list[Path]:
    return sorted(p for p in (ROOT / "examples").rglob("*.yaml"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_read_as_ruamel_reads_them_positions_too(path):
    text, _ = read_text(path, str(path))
    _agree(text)
    _same_positions(text)


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "data" / "malformed").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_the_malformed_corpus_reads_as_ruamel_reads_it_or_both_refuse(path):
    text, problems = read_text(path, str(path))
    if text is not None:
        _agree(text)


def test_a_generated_repo_reads_as_ruamel_reads_it(tmp_path):
    generate(40, tmp_path)
    for path in [tmp_path / "state.yaml", *sorted((tmp_path / "customers").glob("*.yaml"))]:
        text = path.read_text()
        _agree(text)
        _same_positions(text)


SCALARS = ["1y", "5y", "0", "-0", "12", "007", "0o17", "0x1F", "1_000", "1e3", "1.5", ".5", "+5", "1.", "-.inf",
           ".nan", "2026-01-01", "2026-1-1", "2026-13-01", "2026-01-01 10:00:00", "2026-01-01T10:00:00Z",
           "2026-01-01t10:00:00.1234567+02:30", "yes", "no", "on", "off", "y", "Yes", "NO", "true", "False", "TRUE",
           "~", "null", "Null", "NuLL", "", "12:30", "9C7514000001", "SW-001", "-", "a b", "café", "'q'", '"dq"',
           "x#y", "3.0.1", "1/2", "1,5", "0b101", "99999999999999999999", "123456789012345678", "-1", "=", "<<",
           "!!str 12", "!!int '12'", "!!bool yes", "!!float 1", "! x", "!Ref x", "&a 1", "|\n  block\n",
           ">-\n  folded\n  text\n"]


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("shape", ["k: {}\n", "k: [{}]\n", "- {}\n"])
def test_a_scalar_means_what_yaml_1_2_says(scalar, shape):
    _agree(shape.format(scalar))


@pytest.mark.parametrize("text", [
    "a: &x {k: 1}\nb: *x\n", "a: &x 1\nb: *x\n", "a: 1\na: 2\n", "a: !!python/object:os.system x\n",
    "? [a, b]\n: 1\n", "a: 1\n---\nb: 2\n", "a: [1, 2\n", "a:\n\tb: 1\n", "a: *nowhere\n", "a: 2026-02-30\n",
    "a: b\n c: d\n", "- a\nb: c\n", "'a': 1\n\"b\": 2\n", "a: {b: [1, {c: d}]}\n", "a: 'it''s'\nb: \"\\u00e9\"\n",
])
def test_unusual_documents_read_as_ruamel_reads_them_or_both_refuse(text):
    _agree(text)


def test_a_tab_before_a_comment_does_not_hide_a_misspelled_key(tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text("customer: acme\ncompany: Acme GmbH\t# note\ncompnay: typo\npbxes: {}\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:1: error[schema]: unknown key 'compnay'" in err
    assert "a tab character" not in err


def test_one_reader_gives_positions_of_keys_and_values_always():
    document, diagnostics = parse("customer: acme\ncompany:\ncontacts: [x]\n", "c.yaml")
    assert not diagnostics and document.data == {"customer": "acme", "company": None, "contacts": ["x"]}
    assert document.positions.key(("company",)).line == 2
    assert (document.positions.value(("contacts", 0)).line, document.positions.value(("contacts", 0)).column) == (3, 12)


def test_dates_are_dates_and_yes_is_a_string():
    document, _ = parse("a: 2026-01-31\nb: yes\nc: 0o17\n", "t.yaml")
    assert document.data == {"a": dt.date(2026, 1, 31), "b": "yes", "c": 15}


def test_nesting_deeper_than_the_limit_is_refused_before_anything_is_built():
    text = "- " * 100_000 + "x\n"  # block sequences two characters a level: no flow bracket to count
    document, diagnostics = parse(text, "t.yaml")
    assert document is None and diagnostics[0].message == "nesting is too deep (more than 50 levels)"
