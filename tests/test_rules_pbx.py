"""Table tests for the PBX and customer rules (RULES.md, "PBXs and customers"): each fires and does not."""

from __future__ import annotations

import pytest

from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, Status, actions,
                                     customer_file, diagnostics, one, plan, scene, snapshot, steps, tagged)

VIRTUAL = {"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None}
NEW_VIRTUAL = {"model": "virtual", "term": "1y", "licenses": {"basic": 2}}
NEW_HARDWARE = {"model": "hardware", "term": "lifetime", "licenses": {"basic": 2}}


def new_pbx(desired: dict, today=TODAY, current=None):
    return plan([customer_file(pbxes={"acme": DESIRED_PBX, "branch": desired})],
                current or snapshot(), today, Policy())


# --- customer-before-pbx -------------------------------------------------------------------------

def test_customer_before_pbx():
    result = plan([customer_file("newco")], snapshot({}), TODAY, Policy())
    assert actions(result) == ["create-customer", "create-pbx"]
    create_customer, create_pbx = result.steps
    assert create_customer.pbx is None
    assert create_customer.changes.document() == {"company": "Newco GmbH",
                                       "contacts": [{"name": "Jane Doe", "email": "jane@acme.example"}]}
    assert create_pbx.depends_on == [create_customer.id]
    assert "customer-before-pbx" in create_pbx.rules and "customer-before-pbx" in create_customer.rules


def test_customer_before_pbx_silent_for_an_existing_customer():
    result = new_pbx(NEW_VIRTUAL)
    assert actions(result) == ["create-pbx"] and not tagged(result, "customer-before-pbx")


def test_create_pbx_carries_the_whole_form_and_no_add_licenses():
    result = plan([customer_file("newco")], snapshot({}), TODAY, Policy())
    create = one(result, Action.CREATE_PBX)
    assert create.changes.document() == {"name": "newco", "model": "cloud", "region": "eu-central", "term": "1y",
                              "licenses": {"basic": 10, "essential": 30, "business": 0, "premium": 5,
                                           "wizyconf": 0, "service": 0},
                              "storage_gb": 50, "static_ip": False, "ssh": False}
    assert not steps(result, Action.ADD_LICENSES)


# --- hardware-pbx-purchase --------------------------------------------------------------------------

def test_hardware_pbx_purchase_before_create():
    result = new_pbx(NEW_HARDWARE)
    purchase, create = result.steps
    assert (purchase.action, create.action) == (Action.PURCHASE_HARDWARE_PBX, Action.CREATE_PBX)
    assert purchase.changes.document() == {"product": "WPBX-HW", "quantity": 1}
    assert create.depends_on == [purchase.id]
    assert "hardware-pbx-purchase" in create.rules


def test_a_new_customers_hardware_pbx_is_purchased_once_the_customer_exists():
    result = plan([customer_file("newco", pbxes={"newco": NEW_HARDWARE})], snapshot({}), TODAY, Policy())
    customer, purchase, create = result.steps
    assert actions(result) == ["create-customer", "purchase-hardware-pbx", "create-pbx"]
    assert purchase.depends_on == [customer.id] and "customer-before-pbx" in purchase.rules
    assert create.depends_on == [customer.id, purchase.id]


def test_hardware_pbx_purchase_silent_for_virtual():
    result = new_pbx(NEW_VIRTUAL)
    assert not steps(result, Action.PURCHASE_HARDWARE_PBX) and not tagged(result, "hardware-pbx-purchase")


# --- activation-report-window ----------------------------------------------------------------------

@pytest.mark.parametrize("today, by", [
    ("2026-11-18", "2026-11-19"),   # Wednesday
    ("2026-11-20", "2026-11-23"),   # Friday -> Monday
    ("2026-12-31", "2027-01-01"),   # year end
])
def test_activation_report_window(today, by):
    result = new_pbx(NEW_VIRTUAL, today=D(today))
    (found,) = diagnostics(result, "activation-report-window")
    assert found.severity == "info" and f"by {by}" in found.message
    assert "PBX key" in found.message  # virtual and hardware are activated from WMS
    assert "activation-report-window" in one(result, Action.CREATE_PBX).rules


def test_activation_report_window_cloud_needs_no_key():
    result = plan([customer_file("newco")], snapshot({}), TODAY, Policy())
    (found,) = diagnostics(result, "activation-report-window")
    assert "PBX key" not in found.message


def test_activation_report_window_silent_without_create():
    assert not diagnostics(scene(desired={"licenses": {"basic": 11}}), "activation-report-window")


# --- model-change-manual / region-change-manual / storage-increase-only ------------------------------

@pytest.mark.parametrize("current, desired, rule, changes", [
    (VIRTUAL, {}, "model-change-manual", {"model": ["virtual", "cloud"], "region": [None, "eu-central"]}),
    ({}, VIRTUAL, "model-change-manual", {"model": ["cloud", "virtual"]}),
    ({**VIRTUAL, "model": "hardware"}, VIRTUAL, "model-change-manual", {"model": ["hardware", "virtual"]}),
    ({}, {"region": "us-east"}, "region-change-manual", {"region": ["eu-central", "us-east"]}),
    ({}, {"storage_gb": 20}, "storage-increase-only", {"storage_gb": [50, 20]}),
])
def test_manual_pbx_changes(current, desired, rule, changes):
    result = scene(current=current, desired=desired)
    manual = [s for s in result.steps if s.status is Status.MANUAL]
    assert len(manual) == 1
    assert manual[0].action is Action.SET_OPTIONS and manual[0].changes.document() == changes
    assert manual[0].rules == [rule] and manual[0].instruction


@pytest.mark.parametrize("desired, changes", [
    ({"storage_gb": 100}, {"storage_gb": [50, 100]}),
    ({"static_ip": True, "ssh": True}, {"static_ip": [False, True], "ssh": [False, True]}),
])
def test_option_changes_the_portal_does_itself(desired, changes):
    step = one(scene(desired=desired), Action.SET_OPTIONS)
    assert step.status is Status.READY and step.changes.document() == changes and not step.rules


def test_storage_decrease_is_split_from_the_ready_options():
    result = scene(desired={"storage_gb": 20, "ssh": True})
    ready, manual = steps(result, Action.SET_OPTIONS)
    assert ready.changes.document() == {"ssh": [False, True]} and ready.status is Status.READY
    assert manual.changes.document() == {"storage_gb": [50, 20]} and manual.status is Status.MANUAL


def test_cloud_options_wait_for_the_move_to_cloud():
    result = scene(current=VIRTUAL, desired={"storage_gb": 80})
    move, options = result.steps
    assert move.status is Status.MANUAL and options.depends_on == [move.id]


def test_model_and_region_unchanged_need_nobody():
    result = scene(desired={"licenses": {"basic": 11, "essential": 30, "premium": 5}})
    assert all(s.status is Status.READY for s in result.steps)
    for rule in ("model-change-manual", "region-change-manual", "storage-increase-only"):
        assert not tagged(result, rule)


# --- unmanaged-customer ----------------------------------------------------------------------------

TWO = {"acme": {"acme": CURRENT_PBX}, "globex": {"globex": CURRENT_PBX}}


def test_unmanaged_customer_is_reported_and_left_alone():
    result = plan([customer_file()], snapshot(TWO), TODAY, Policy())
    assert not result.steps
    (found,) = diagnostics(result, "unmanaged-customer")
    assert found.severity == "info" and found.customer == "globex"


def test_prune_decommissions_an_absent_customer():
    result = plan([customer_file()], snapshot(TWO), TODAY, Policy(prune=True, deletions="allow"))
    assert not diagnostics(result, "unmanaged-customer")
    remove = one(result, Action.REMOVE_LICENSES)
    assert (remove.customer, remove.pbx) == ("globex", "globex")
    assert remove.changes.document() == {"licenses.basic": [10, 0], "licenses.essential": [30, 0], "licenses.premium": [5, 0]}


def test_prune_under_guarded_deletions_is_an_error():
    result = plan([customer_file()], snapshot(TWO), TODAY, Policy(prune=True))
    assert diagnostics(result, "deletion-guard")[0].customer == "globex"


def test_a_partial_plan_does_not_call_other_customers_unmanaged():
    result = plan([customer_file()], snapshot(TWO), TODAY, Policy(prune=True), complete=False)
    assert not result.steps and not result.diagnostics


@pytest.mark.parametrize(("holder", "fires"), [
    ("globex", True),   # another customer holds the name in the portal
    (None, False),      # the name is free
])
def test_pbx_name_taken(holder, fires):
    current = {"acme": {}} if holder is None else {"acme": {}, holder: {"shared": CURRENT_PBX}}
    result = plan([customer_file(pbxes={"shared": DESIRED_PBX})], snapshot(current), TODAY, Policy())
    create = one(result, Action.CREATE_PBX)
    found = diagnostics(result, "pbx-name-taken")
    if fires:
        assert create.status is Status.BLOCKED and create.not_before is None
        assert [(d.severity, d.message) for d in found] == [
            ("error", "PBX name shared is taken in the portal by customer globex (shared.wildixin.com): "
                      "choose another name")]
    else:
        assert create.status is Status.READY and found == []


# --- snapshot-age ------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of, severity, fragment", [
    ("2026-11-15", "warning", "the current state is 3 days old (as_of 2026-11-15, plan date 2026-11-18)"),
    ("2026-11-16", "warning", "2 days old"),
    ("2026-11-17", None, None),              # a day old: a state read last night
    ("2026-11-18", None, None),
    ("2026-11-19", "error", "the plan date 2026-11-18 is before the current state's as_of 2026-11-19"),
])
def test_snapshot_age(as_of, severity, fragment):
    result = scene(as_of=as_of)
    found = diagnostics(result, "snapshot-age")
    assert [d.severity for d in found] == ([severity] if severity else [])
    if fragment:
        assert fragment in found[0].message and found[0].customer is None
