"""Positions answer where a key or a value stands, from a store small enough for a whole portal's snapshot.

The answers are pinned against a plain dict of path -> (line, column) (what the reader used to
keep): the nearest present ancestor for an absent path, the value's place for a key that has
none, an alias's own place for anything inside it. The store is pinned by size, and its plain
form (what the parse cache keeps) by a round trip through JSON and by refusing damaged data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from reconciler.diagnostics import Position
from reconciler.positions import Positions
from reconciler.yamlio import parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

TEXT = """\
customer: acme
contacts:
  - {name: Anna, email: anna@acme.example}
  - name: Bo
    email: bo@acme.example
base: &base {term: 1y, licenses: {basic: 2}}
pbxes:
  acme-main: *base
  acme-2:
    devices: [[1, 2], {serial: X1}]
empty: {}
none: []
"""


def _positions(text: str = TEXT) -> Positions:
    document, diagnostics = parse(text, "c.yaml")
    assert not diagnostics
    return document.positions


@pytest.mark.parametrize(("path", "key", "value"), [  # key None: the path has no key, key() says the value's place
    ((), None, (1, 1)),
    (("customer",), (1, 1), (1, 11)),
    (("contacts", 0), None, (3, 5)),
    (("contacts", 0, "email"), (3, 18), (3, 25)),
    (("contacts", 1, "email"), (5, 5), (5, 12)),
    (("base", "licenses", "basic"), (6, 35), (6, 42)),
    (("pbxes", "acme-main"), (8, 3), (8, 14)),
    (("pbxes", "acme-main", "term"), None, (8, 14)),  # inside an alias: the alias itself
    (("pbxes", "acme-2", "devices", 0, 1), None, (10, 19)),
    (("pbxes", "acme-2", "devices", 1, "serial"), (10, 24), (10, 32)),
    (("pbxes", "acme-2", "devices", 7), None, (10, 14)),  # past the end: the list
    (("pbxes", "acme-2", "devices", -1), None, (10, 14)),
    (("pbxes", "acme-2", "devices", "0"), None, (10, 14)),  # a key is not an index
    (("contacts", "name"), None, (3, 3)),  # nor an index a key
    (("empty",), (11, 1), (11, 8)),
    (("empty", "x"), None, (11, 8)),
    (("none", 0), None, (12, 7)),
    (("missing", "deeper"), None, (1, 1)),
])
def test_a_key_and_a_value_are_found_where_they_stand_and_an_absent_path_at_its_nearest_ancestor(path, key, value):
    positions = _positions()
    assert positions.value(path) == Position("c.yaml", *value)
    assert positions.key(path) == Position("c.yaml", *(key or value))
    assert positions.has_key(path) is (key is not None) is (path in positions.keys)


def test_the_views_list_every_key_and_value_as_a_dict_of_paths_would():
    positions = _positions()
    assert dict(positions.keys)[("contacts", 1, "name")] == (4, 5)
    assert ("contacts", 0) not in positions.keys and ("contacts", 0) in positions.values
    assert ("pbxes", "acme-main", "term") not in positions.values
    assert len(positions.values) == len(list(positions.values)) == 24
    assert list(positions.values)[:3] == [(), ("customer",), ("contacts",)]  # parents first, in document order


def test_positions_made_from_dicts_of_paths_answer_as_the_reader_s_own():
    positions = _positions()
    rebuilt = Positions("c.yaml", dict(positions.keys), dict(positions.values))
    assert rebuilt.keys == positions.keys and rebuilt.values == positions.values
    assert rebuilt.key(("pbxes", "acme-2", "devices", 1, "serial")) == Position("c.yaml", 10, 24)


def test_the_plain_form_survives_json_and_a_damaged_one_is_refused():
    positions = _positions()
    back = Positions.restore("c.yaml", json.loads(json.dumps(positions.dump())))
    assert back.keys == positions.keys and back.values == positions.values
    assert Positions.restore("c.yaml", [[], [], []]).value(("a",)) == Position("c.yaml")
    names, marks, sizes = positions.dump()
    for damaged in (None, "x", [names, marks], [names, marks[:-1], sizes], [names, marks, sizes[:-1]],
                    [names, [*marks[:-1], -1], sizes], [names, [*marks[:-1], 2 ** 64], sizes],
                    [names, [*marks[:-1], 1.5], sizes], [names, marks, [*sizes[:-1], 0]],
                    [names, marks, [sizes[0] + 1, *sizes[1:]]], [names, marks, [1, *sizes[1:]]],
                    [["x", *names[1:]], marks, sizes], [[None, 1, *names[2:]], marks, sizes],
                    [[None, None, *names[2:]], marks, sizes], [names, marks, [sizes[0], sizes[1] + 30, *sizes[2:]]]):
        with pytest.raises(ValueError):
            Positions.restore("c.yaml", damaged)


def test_a_snapshot_s_positions_take_a_few_dozen_bytes_a_value(tmp_path):
    generate(400, tmp_path)
    positions = _positions((tmp_path / "state.yaml").read_text())
    values = len(positions.values)
    assert values > 15_000
    size = sum(sys.getsizeof(part) for part in (positions.names, positions.marks, positions.sizes))
    # a (path, (line, column)) pair in a dict took some 250 bytes; a node in three flat arrays takes under 40
    assert size / values < 40
