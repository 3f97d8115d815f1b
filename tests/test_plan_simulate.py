"""apply_steps: the portal after a plan, in memory; only ready steps (and what they need) are applied."""

from __future__ import annotations

from tests.simulate import apply_steps
from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, customer_file, device,
                                     merged, plan, snapshot)


def test_a_new_customer_is_created_with_its_pbx_and_devices():
    current = snapshot({}, stock={"WorkForce": 1})
    files = [customer_file("newco", pbxes={"newco": merged(DESIRED_PBX, hwaas={"WorkForce": 3})})]
    after = apply_steps(current, plan(files, current, TODAY, Policy()).steps)
    pbx = after.customers["newco"].pbxes["newco"]
    assert (pbx.term, pbx.expires_on, pbx.licenses.essential) == ("1y", D("2027-11-18"), 30)
    assert [d.serial for d in pbx.devices] == ["SIM000001", "SIM000002", "SIM000003"]
    assert after.stock == {"WorkForce": -2}
    assert plan(files, after, TODAY, Policy()).steps == []


def test_blocked_steps_and_what_needs_them_are_not_applied():
    current = snapshot()
    files = [customer_file(pbxes={"acme": merged(DESIRED_PBX, term="1m")})]
    result = plan(files, current, D("2026-11-30"), Policy())
    assert [s.action for s in result.steps] == [Action.REMOVE_LICENSES, Action.CHANGE_TERM, Action.ADD_LICENSES]
    assert apply_steps(current, result.steps) == current


def test_a_cloud_pbx_at_zero_is_scheduled_for_deletion_and_saved_by_adding():
    current = snapshot()
    files = [customer_file(pbxes={"acme": merged(DESIRED_PBX, licenses={}, allow_deletion=True)})]
    after = apply_steps(current, plan(files, current, TODAY, Policy()).steps)
    pbx = after.customers["acme"].pbxes["acme"]
    assert (pbx.status, pbx.deletion_scheduled_on) == ("deletion-scheduled", TODAY)
    back = apply_steps(after, plan([customer_file()], after, TODAY, Policy()).steps)
    assert back.customers["acme"].pbxes["acme"].status == "active"


def test_transfers_move_devices_and_conversions_change_billing():
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[device("9C0001", billing="capex")])},
                        "globex": {"globex": merged(CURRENT_PBX, devices=[device("9C0009")])}})
    files = [customer_file(pbxes={"acme": merged(DESIRED_PBX, hwaas={"WorkForce": 2},
                                                 pinned={"9C0001": "hwaas", "9C0009": "hwaas"})})]
    after = apply_steps(current, plan(files, current, TODAY, Policy()).steps)
    devices = {d.serial: d for d in after.customers["acme"].pbxes["acme"].devices}
    assert set(devices) == {"9C0001", "9C0009"}
    assert devices["9C0001"].billing == "hwaas" and devices["9C0001"].since == TODAY
    assert after.customers["globex"].pbxes["globex"].devices == []
