"""The portal's state from a snapshot's cache value (reconciler.current): the index only when asked, the same answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import current
from reconciler.current import PortalState, value_of
from reconciler.providers.snapshot import SnapshotProvider
from tests.conftest import example_dirs

STATES = [d / "state.yaml" for d in example_dirs() if (d / "state.yaml").is_file()]


def _fail():
    pytest.fail("the file was read again")


@pytest.fixture(params=STATES[:3], ids=lambda p: p.parent.name)
def snapshot(request):
    return SnapshotProvider(Path(request.param)).read()


def test_a_whole_plan_never_decodes_the_index_and_lets_the_text_go(snapshot, monkeypatch):
    value = value_of(snapshot, PortalState(snapshot))
    decoded = []
    for module in (current.json, current.orjson):
        monkeypatch.setattr(module, "loads", lambda text, real=module.loads: decoded.append(text) or real(text))
    state = PortalState.cached(value, _fail)
    assert state.whole() == snapshot
    assert decoded == [value.split("\n", 1)[0]]  # the first line only: fingerprint and where the customers are
    assert state.fingerprint() == PortalState(snapshot).fingerprint()
    assert state._text is None
    assert dict(state.serials) == dict(PortalState(snapshot).serials)
    assert state.subset(list(snapshot.customers)[:1]) == PortalState(snapshot).subset(list(snapshot.customers)[:1])


def _damaged(snapshot, line: int, damage: str) -> str:
    """The snapshot's cache value with its line `line` (1: the index, 2: the devices' holders) replaced."""
    lines = value_of(snapshot, PortalState(snapshot)).split("\n", 3)
    lines[line] = damage
    return "\n".join(lines)


@pytest.mark.parametrize("line, damage", [
    *((1, index) for index in ('{"pbxes": {', "{}", "[]", '{"pbxes": 7, "spans": []}',
                               '{"pbxes": {"x": 5}, "spans": []}', '{"pbxes": {}, "spans": 7}')),
    *((2, held) for held in ("{", "[]", "7", '"acme"', '{"x": 5}', '{"x": ["acme"]}'))])
def test_a_damaged_index_gives_the_answers_of_the_whole_snapshot(snapshot, line, damage):
    state = PortalState.cached(_damaged(snapshot, line, damage), _fail)
    whole = PortalState(snapshot)
    assert dict(state.pbxes) == dict(whole.pbxes) and dict(state.serials) == dict(whole.serials)
    ids = list(snapshot.customers)[-1:]
    assert PortalState.cached(_damaged(snapshot, line, damage), _fail).subset(ids) == whole.subset(ids)


WITH_DEVICES = [path for path in STATES if PortalState(SnapshotProvider(path).read()).serials]


@pytest.mark.parametrize("state", WITH_DEVICES[:3], ids=lambda p: p.parent.name)
def test_who_holds_the_devices_is_decoded_only_when_asked(state, monkeypatch):
    """A warm plan of files that pin no device asks each customer's span and each PBX name's holders, never who
    holds each of the portal's (tens of thousands of) devices."""
    snapshot = SnapshotProvider(state).read()
    value = value_of(snapshot, PortalState(snapshot))
    held = value.split("\n", 3)[2]
    assert WITH_DEVICES and json.loads(held)
    decoded = []
    monkeypatch.setattr(current.orjson, "loads", lambda text, real=current.orjson.loads: decoded.append(text)
                        or real(text))
    state = PortalState.cached(value, _fail)
    assert state.cached_text() is not None and dict(state.pbxes) == dict(PortalState(snapshot).pbxes)
    assert held not in decoded
    assert dict(state.serials) == dict(PortalState(snapshot).serials)
    assert held in decoded


def test_the_index_names_each_customer_with_one_string(snapshot):
    """45,000 devices name 10,000 customers in a big portal's index: each holder is the customer's one id string."""
    state = PortalState.cached(value_of(snapshot, PortalState(snapshot)), _fail)
    holders = [*state.serials.values(), *(cid for names in state.pbxes.values() for cid in names)]
    assert holders and dict(state.serials) == dict(PortalState(snapshot).serials)
    ids = {id(cid) for cid in state.cached_text()[2]}  # the spans' keys: one per customer
    assert all(id(cid) in ids for cid in holders)

