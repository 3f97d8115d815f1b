"""The portal state's fingerprint is the SHA-256 of its canonical JSON, whichever encoder writes it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import example, given, strategies as st

from reconciler.fingerprint import canonical, canonical_bytes, fingerprint_state, state_fingerprint
from reconciler.snapshot import Snapshot
from reconciler.providers.snapshot import SnapshotProvider

EXAMPLES = Path(__file__).parent.parent / "examples"

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any character a snapshot can hold
_scalars = st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | _text
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
                     max_leaves=30)


@given(_json)
@example({"é": 1, "z": {"\u2028": "\x00\x1f\x7f\b\f\n\r\t\"\\", "a": [True, None, -2**63]}, "\U0001f600": "\ue000"})
def test_orjson_writes_the_bytes_json_writes_for_data_without_floats(data):
    assert canonical_bytes(data) == canonical(data).encode("utf-8")


@pytest.mark.parametrize("data", [{"big": 2**64}, {"neg": -2**63 - 1}, {"pbx": {"x": 10**30}}])
def test_what_orjson_refuses_is_written_by_json_as_before(data):
    assert canonical_bytes(data) == canonical(data).encode("utf-8")


def test_a_lone_surrogate_fails_as_it_did():
    with pytest.raises(UnicodeEncodeError):
        state_fingerprint({"company": "\ud800"})


def _types(schema) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        kind = schema.get("type")
        found.update(kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else [])
        for value in schema.values():
            found |= _types(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _types(value)
    return found


def test_a_snapshot_holds_no_float_so_its_fingerprint_may_be_written_by_orjson():
    assert "number" not in _types(Snapshot.model_json_schema(mode="serialization"))
    assert "number" not in _types(Snapshot.model_json_schema(mode="validation"))


@pytest.mark.parametrize("example_dir", sorted(p.name for p in EXAMPLES.iterdir() if (p / "state.yaml").is_file()))
def test_every_example_states_fingerprint_is_that_of_its_canonical_json(example_dir):
    snapshot = SnapshotProvider(EXAMPLES / example_dir / "state.yaml").read()
    text = json.dumps(snapshot.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprint_state(snapshot) == "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_snapshots_fingerprint_is_hashed_as_written_and_equals_that_of_its_whole_dump():
    snapshot = SnapshotProvider(EXAMPLES / "new-cloud-customer" / "state.yaml").read()
    assert fingerprint_state(snapshot) == state_fingerprint(snapshot.model_dump(mode="json"))
    empty = Snapshot.model_validate_json('{"as_of": "2026-11-30"}')
    assert fingerprint_state(empty) == state_fingerprint(empty.model_dump(mode="json"))
