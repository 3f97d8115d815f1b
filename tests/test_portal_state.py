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
    real = json.loads
    monkeypatch.setattr(current.json, "loads", lambda text: decoded.append(text) or real(text))
    state = PortalState.cached(value, _fail)
    assert state.whole() == snapshot
    assert decoded == [value.split("\n", 1)[0]]  # the first line only: fingerprint and where the customers are
    assert state.fingerprint() == PortalState(snapshot).fingerprint()
    assert state._text is None
    assert dict(state.serials) == dict(PortalState(snapshot).serials)
    assert state.subset(list(snapshot.customers)[:1]) == PortalState(snapshot).subset(list(snapshot.customers)[:1])


@pytest.mark.parametrize("index", ['{"serials": {', "{}", "[]", '{"serials": 7, "pbxes": {}, "spans": []}'])
def test_a_damaged_index_gives_the_answers_of_the_whole_snapshot(snapshot, index):
    first, _, text = value_of(snapshot, PortalState(snapshot)).split("\n", 2)
    state = PortalState.cached(f"{first}\n{index}\n{text}", _fail)
    whole = PortalState(snapshot)
    assert dict(state.pbxes) == dict(whole.pbxes) and dict(state.serials) == dict(whole.serials)
    ids = list(snapshot.customers)[-1:]
    assert PortalState.cached(f"{first}\n{index}\n{text}", _fail).subset(ids) == whole.subset(ids)
