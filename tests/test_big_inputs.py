"""Big inputs fail fast, and say why: too many values is not an alias bomb, and a snapshot has a size limit."""

from __future__ import annotations

import time

import pytest

from reconciler.diagnostics import ReconcilerError
from reconciler.providers.snapshot import MAX_SNAPSHOT_BYTES, SnapshotProvider
from reconciler.validate import validate_paths
from reconciler.yamlio import MAX_NODES, parse


def plain_customer(lines: int) -> str:
    """A customer file with no alias at all, `lines` lines long: a long list of contacts."""
    text = ["customer: acme", "company: Acme", "contacts:"]
    number = 0
    while len(text) < lines:
        text += [f"  - name: Person {number}", f"    email: p{number}@acme.example"]
        number += 1
    return "\n".join(text + ["pbxes: {}"]) + "\n"


def test_a_plain_100000_line_file_is_too_many_values_refused_in_well_under_a_second(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(plain_customer(100_000))
    started, cpu = time.perf_counter(), time.process_time()
    diagnostics = validate_paths([str(path)]).diagnostics
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    assert [d.message for d in diagnostics] == [
        f"too many values: the document has more than {MAX_NODES} (a desired-state file has far fewer): "
        "refusing to read it"]
    assert cpu < 1.0, f"{cpu:.2f} s of CPU ({wall:.2f} s on the clock)"


def test_the_reader_counts_the_documents_own_values_apart_from_what_aliases_add():
    plain = "items: [" + ", ".join(str(n) for n in range(30)) + "]\n"
    document, diagnostics = parse(plain, "f.yaml", max_nodes=20)
    assert document is None and diagnostics[0].message.startswith("too many values: the document has more than 20")
    assert (diagnostics[0].line, diagnostics[0].column) == (1, plain.index(" 18,") + 2)  # the 21st value
    aliased = "a: &x [1, 2, 3, 4]\nb: [*x, *x, *x, *x, *x, *x]\n"  # 13 values of its own, 30 more from aliases
    document, diagnostics = parse(aliased, "f.yaml", max_nodes=20)
    assert document is None and "aliases expand to more than 20 values" in diagnostics[0].message
    document, diagnostics = parse(aliased, "f.yaml", max_nodes=30)
    assert diagnostics == [] and document.data["b"][5] == [1, 2, 3, 4]


def test_a_large_file_of_few_values_is_not_refused():
    long_name = "N" * 250
    text = plain_customer(2_000).replace("name: Person", f"name: {long_name}")
    assert len(text) > 2 * MAX_NODES  # large enough to be counted
    document, diagnostics = parse(text, "acme.yaml")
    assert diagnostics == [] and len(document.data["contacts"]) == 999


def test_a_snapshot_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "state.yaml"
    with open(path, "wb") as handle:  # sparse: no disk, no memory
        handle.truncate(MAX_SNAPSHOT_BYTES + 1)
    started = time.perf_counter()
    with pytest.raises(ReconcilerError) as refused:
        SnapshotProvider(path).read()
    assert time.perf_counter() - started < 1.0
    assert str(refused.value) == (f"state file {path} is 64 MiB: a snapshot may have at most 64 MiB (reading one "
                                  "takes about 11 times its size in memory); read the portal through its provider "
                                  "instead")
