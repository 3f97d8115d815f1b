"""Frozen models read from files share their sets of given fields (reconciler.fieldsets): memory, not meaning."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.desired import CustomerFile
from reconciler.domain import Strict
from reconciler.fieldsets import SharedFieldSets
from reconciler.snapshot import Snapshot

DEVICES = [{"serial": f"9C75{n:08d}", "product": "WorkForce", "billing": "hwaas", "since": dt.date(2026, 1, 10)}
           for n in range(50)] + [{"serial": "9C7599999999", "product": "MonoLED", "billing": "capex"}]
STATE = {"as_of": dt.date(2026, 11, 22), "customers": {
    "acme": {"company": "Acme", "pbxes": {"acme": {"serial": "SW-1", "model": "hardware", "term": "lifetime",
                                                    "devices": DEVICES}}}}}


def _devices(snapshot: Snapshot):
    return snapshot.customers["acme"].pbxes["acme"].devices


@pytest.mark.parametrize("read", [lambda: Snapshot.model_validate(STATE),
                                  lambda: Snapshot.model_validate_json(Snapshot.model_validate(STATE).model_dump_json(
                                      exclude_unset=True))])
def test_equal_sets_are_one_set_and_each_model_still_knows_its_own(read):
    devices = _devices(read())
    assert len({id(device.model_fields_set) for device in devices}) == 2
    assert devices[0].model_fields_set == {"serial", "product", "billing", "since"}
    assert devices[-1].model_fields_set == {"serial", "product", "billing"}
    assert [device.model_dump(exclude_unset=True) for device in devices] == DEVICES


def test_a_copy_with_an_update_leaves_the_shared_set_alone():
    devices = _devices(Snapshot.model_validate(STATE))
    changed = devices[-1].model_copy(update={"since": dt.date(2026, 2, 1)})
    assert changed.model_fields_set == {"serial", "product", "billing", "since"}
    assert devices[-1].model_fields_set == {"serial", "product", "billing"}
    assert devices[-1].model_dump(exclude_unset=True) == DEVICES[-1]


def test_a_shared_model_refuses_assignment():
    device = _devices(Snapshot.model_validate(STATE))[0]
    with pytest.raises(ValueError):
        device.since = None
    assert "since" in _devices(Snapshot.model_validate(STATE))[-2].model_fields_set


def test_what_a_customer_file_leaves_out_stays_out():
    data = {"customer": "acme", "company": "Acme", "contacts": [{"name": "A", "email": "a@b.example"}],
            "pbxes": {"one": {"model": "hardware", "term": "lifetime"},
                      "two": {"model": "hardware", "term": "lifetime", "hwaas": {}}}}
    customer = CustomerFile.model_validate(data)
    assert not customer.pbxes["one"].manages_hwaas or customer.pbxes["one"].term == "lifetime"
    assert "hwaas" not in customer.pbxes["one"].model_fields_set
    assert "hwaas" in customer.pbxes["two"].model_fields_set
    assert customer.model_dump(mode="json", exclude_unset=True) == data


def test_only_a_frozen_model_may_share():
    with pytest.raises(TypeError, match="frozen"):
        class Loose(SharedFieldSets):  # noqa: F841
            value: int = 0

    class Fine(Strict, SharedFieldSets):
        value: int = 0

    assert Fine(value=1).model_fields_set is Fine(value=2).model_fields_set
