"""Table tests for the HWaaS rules (RULES.md, "HWaaS devices"): each fires and does not."""

from __future__ import annotations

import pytest

from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, Status, actions,
                                     customer_file, device, diagnostics, merged, one, plan, scene, snapshot, steps,
                                     tagged)

HAS_ONE = {"devices": [device("9C0001", since="2025-01-01")]}
VIRTUAL = {"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None}


def returning(*devices, today=TODAY, keep: int = 0):
    return scene(current={"devices": list(devices)}, desired={"hwaas": {"WorkForce": keep}}, today=today)


def two_customers(giver: dict, receiver: dict | None = None, receiver_desired: dict | None = None,
                  giver_desired: dict | None = None, today=TODAY, **extra):
    """acme/acme pins 9C0009, which sits on globex/globex."""
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, **(receiver or {}))},
                        "globex": {"globex": merged(CURRENT_PBX, devices=[device("9C0009")], **giver)}}, **extra)
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, hwaas={"WorkForce": 1}, pinned={"9C0009": "hwaas"},
                                                   **(receiver_desired or {}))})]
    if giver_desired is not None:
        desired.append(customer_file("globex", pbxes={"globex": merged(DESIRED_PBX, **giver_desired)}))
    return plan(desired, current, today, Policy())


# --- overdue-blocks-hardware -------------------------------------------------------------------

@pytest.mark.parametrize("overdue_since, blocked", [
    ("2026-11-12", True),    # 6 days before today
    ("2026-10-01", True),
    ("2026-11-13", False),   # exactly 5 days: not more than 5
    ("2026-11-18", False),
    (None, False),
])
def test_overdue_blocks_hardware(overdue_since, blocked):
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[
        device("9C0001", billing="capex"), device("9C0002", product="MonoLED")])},
        "globex": {"globex": merged(CURRENT_PBX, devices=[device("9C0009")])}},
        partner={"overdue_since": overdue_since})
    desired = customer_file(pbxes={
        "acme": merged(DESIRED_PBX, licenses={"basic": 11, "essential": 30, "premium": 5},
                       hwaas={"WorkForce": 3}, pinned={"9C0001": "hwaas", "9C0009": "hwaas"}),
        "box": {"model": "hardware", "term": "1y"}})
    result = plan([desired], current, TODAY, Policy())
    hardware = [Action.CONVERT_TO_HWAAS, Action.TRANSFER_HWAAS, Action.ORDER_HWAAS, Action.PURCHASE_HARDWARE_PBX]
    for action in hardware:
        step = one(result, action)
        assert (step.status is Status.BLOCKED) is blocked, action
        assert step.not_before is None
        assert ("overdue-blocks-hardware" in step.rules) is blocked
    assert one(result, Action.ADD_LICENSES).status is Status.READY      # license steps still go
    assert one(result, Action.RETURN_HWAAS).status is Status.READY      # returns are not hardware bought
    create = one(result, Action.CREATE_PBX)                             # needs the purchased box
    assert (create.status is Status.BLOCKED) is blocked


# --- hwaas-minimum-term ----------------------------------------------------------------------------

@pytest.mark.parametrize("since, today, not_before", [
    ("2026-08-31", "2027-02-27", "2027-02-28"),   # clamped to February's end
    ("2026-08-31", "2027-02-28", None),           # the last day of February 2027 is the 6th month
    ("2027-08-31", "2028-02-28", "2028-02-29"),   # leap year
    ("2027-08-31", "2028-02-29", None),
    ("2026-06-30", "2026-12-29", "2026-12-30"),
    ("2026-07-31", "2027-01-30", "2027-01-31"),   # over the year end
    ("2026-05-18", "2026-11-18", None),           # exactly 6 months
    ("2026-05-19", "2026-11-18", "2026-11-19"),
])
def test_hwaas_minimum_term(since, today, not_before):
    step = one(returning(device("9C0001", since=since), today=D(today)), Action.RETURN_HWAAS)
    if not_before:
        assert (step.status, step.not_before) == (Status.BLOCKED, D(not_before))
        assert "hwaas-minimum-term" in step.rules
    else:
        assert step.status is Status.READY and "hwaas-minimum-term" not in step.rules


def test_hwaas_minimum_term_exempts_commitments():
    step = one(returning(device("9C0001", since="2026-10-01", commitment=True)), Action.RETURN_HWAAS)
    assert step.status is Status.MANUAL and "hwaas-minimum-term" not in step.rules


def test_hwaas_minimum_term_splits_returns_by_date():
    result = returning(device("9C0001", since="2025-01-01"), device("9C0002", since="2025-02-01"),
                       device("9C0003", since="2026-09-10"), device("9C0004", since="2026-09-10"))
    ready, blocked = steps(result, Action.RETURN_HWAAS)
    assert ready.changes.document() == {"product": "WorkForce", "quantity": 2, "serials": ["9C0001", "9C0002"]}
    assert blocked.changes.document() == {"product": "WorkForce", "quantity": 2, "serials": ["9C0003", "9C0004"]}
    assert blocked.not_before == D("2027-03-10")


# --- commitment-return-manual ----------------------------------------------------------------------

@pytest.mark.parametrize("commitment, status", [(True, Status.MANUAL), (False, Status.READY)])
def test_commitment_return_manual(commitment, status):
    step = one(returning(device("9C0001", commitment=commitment)), Action.RETURN_HWAAS)
    assert step.status is status
    assert ("commitment-return-manual" in step.rules) is commitment
    if commitment:
        assert "Customer Care" in step.instruction


# --- return-oldest-first -----------------------------------------------------------------------------

def test_return_oldest_first_and_never_a_pinned_or_capex_device():
    result = scene(current={"devices": [
        device("9C0001", since="2025-03-01"), device("9C0002", since="2024-01-01"),
        device("9C0003", since="2025-01-01"), device("9C0004", since="2023-01-01"),
        device("9C0005", billing="capex")]},
        desired={"hwaas": {"WorkForce": 2}, "pinned": {"9C0004": "hwaas"}})
    step = one(result, Action.RETURN_HWAAS)
    assert step.changes.document()["serials"] == ["9C0002", "9C0003"]  # 9C0004 is older but pinned
    assert "return-oldest-first" in step.rules


def test_no_return_no_oldest_first():
    result = scene(current=HAS_ONE, desired={"hwaas": {"WorkForce": 1}})
    assert not result.steps and not tagged(result, "return-oldest-first")


# --- convert-preconditions / conversion-effects --------------------------------------------------------

CAPEX = {"devices": [device("9C0001", billing="capex", since=None)]}
PIN = {"hwaas": {"WorkForce": 1}, "pinned": {"9C0001": "hwaas"}}


def test_convert_pinned_capex():
    result = scene(current=CAPEX, desired=PIN)
    step = one(result, Action.CONVERT_TO_HWAAS)
    assert step.changes.document() == {"product": "WorkForce", "quantity": 1, "serials": ["9C0001"],
                            "billing": ["capex", "hwaas"]}
    assert step.status is Status.READY and not steps(result, Action.ORDER_HWAAS)
    assert not diagnostics(result, "convert-preconditions")


@pytest.mark.parametrize("current, desired", [
    ({"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None, "term": "lifetime"},
     {"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None, "term": "lifetime"}),
    ({}, {"licenses": {}, "allow_deletion": True}),   # no subscription left after the plan
])
def test_convert_preconditions(current, desired):
    result = scene(current={**CAPEX, **current}, desired={**PIN, **desired})
    (found,) = diagnostics(result, "convert-preconditions")
    assert found.severity == "error" and result.has_errors


@pytest.mark.parametrize("today, credit_note, kept", [
    ("2026-11-18", "2026-11-25", "2027-05-18"),   # Wednesday: 5 business days is a week
    ("2026-11-20", "2026-11-27", "2027-05-20"),   # Friday
    ("2026-08-31", "2026-09-07", "2027-02-28"),   # month-end clamp for the 6-month minimum
    ("2026-12-31", "2027-01-07", "2027-06-30"),
])
def test_conversion_effects(today, credit_note, kept):
    (found,) = diagnostics(scene(current=CAPEX, desired=PIN, today=D(today)), "conversion-effects")
    assert found.severity == "info" and credit_note in found.message and kept in found.message


def test_unpinned_capex_is_not_managed():
    result = scene(current=CAPEX, desired={"hwaas": {}})
    assert not result.steps and not diagnostics(result, "conversion-effects")


# --- transfer-conditions -------------------------------------------------------------------------------

def test_transfer_same_term_and_expiry_is_ready_and_planned_once():
    result = two_customers({}, giver_desired={"hwaas": {}})
    transfer = one(result, Action.TRANSFER_HWAAS)
    assert (transfer.customer, transfer.pbx, transfer.status) == ("acme", "acme", Status.READY)
    assert transfer.changes.document() == {"product": "WorkForce", "quantity": 1, "serials": ["9C0009"],
                                "from": "globex/globex"}
    assert "transfer-conditions" in transfer.rules
    assert [s.action for s in result.steps] == [Action.TRANSFER_HWAAS]  # the giver returns nothing


@pytest.mark.parametrize("giver, receiver, reason", [
    ({"expires_on": "2027-11-20"}, {"expires_on": "2027-03-01"}, "the expiry dates differ (2027-11-20 and 2027-03-01)"),
    ({"term": "1m"}, {}, "the terms differ (globex/globex: 1m until 2027-05-14, acme/acme: 1y until 2027-05-14)"),
    ({"term": "1m", "expires_on": "2026-12-14"}, {},
     "the terms and the expiry dates differ (globex/globex: 1m until 2026-12-14, acme/acme: 1y until 2027-05-14)"),
    ({"expires_on": None}, {}, "the expiry date of globex/globex is not known"),
])
def test_transfer_conditions_a_ticket_says_which_condition_fails(giver, receiver, reason):
    step = one(two_customers(giver, receiver), Action.TRANSFER_HWAAS)
    assert step.status is Status.MANUAL and "Customer Care ticket" in step.instruction
    assert step.instruction.endswith(reason)


@pytest.mark.parametrize("giver, status", [({"expires_on": "2027-06-14"}, Status.MANUAL), ({}, Status.READY)])
def test_transfer_conditions_a_replacement_order_waits_for_the_ticket(giver, status):
    """globex keeps one WorkForce while 9C0009 leaves for acme: it orders one to replace it."""
    result = two_customers(giver, giver_desired={"hwaas": {"WorkForce": 1}})
    transfer, order = one(result, Action.TRANSFER_HWAAS), one(result, Action.ORDER_HWAAS)
    assert (transfer.status, order.pbx, order.status) == (status, "globex", Status.READY)
    notes = [d for d in diagnostics(result, "transfer-conditions") if "waits for the Customer Care" in d.message]
    if status is Status.MANUAL:
        assert transfer.id in order.depends_on and "transfer-conditions" in order.rules
        assert [(d.severity, d.customer, d.pbx) for d in notes] == [("info", "globex", "globex")]
        assert "globex keeps the device it replaces" in notes[0].message
    else:
        assert order.depends_on == [] and notes == []


@pytest.mark.parametrize("giver", [{}, {"expires_on": "2027-06-14"}])   # automatic; a ticket
def test_transfer_effects_credit_note_billing_and_a_new_minimum(giver):
    result = two_customers(giver, giver_desired={"hwaas": {}})
    transfer = one(result, Action.TRANSFER_HWAAS)
    (note,) = diagnostics(result, "transfer-effects")
    assert note.severity == "info" and "transfer-effects" in transfer.rules
    assert "billing follows the licenses of acme (1y, until 2027-05-14)" in note.message
    if transfer.status is Status.READY:   # D is known: the dates are printed
        assert "credit note is issued to globex/globex by 2026-11-25" in note.message
        assert "kept at least until 2027-05-18" in note.message
    else:                                 # a ticket: it runs when Customer Care acts
        assert "within 5 business days of the transfer" in note.message


def test_transfer_effects_silent_without_a_transfer():
    result = scene(desired={"hwaas": {"WorkForce": 1}})
    assert not diagnostics(result, "transfer-effects") and not tagged(result, "transfer-effects")


def test_transfer_to_a_lifetime_pbx_is_an_error():
    virtual = {"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None,
               "term": "lifetime"}
    result = two_customers({}, receiver=virtual, receiver_desired=virtual)
    assert diagnostics(result, "transfer-conditions")[0].severity == "error"


def test_transfer_of_an_unknown_serial_is_an_error():
    result = scene(desired={"hwaas": {"WorkForce": 1}, "pinned": {"9C9999": "hwaas"}})
    assert diagnostics(result, "transfer-conditions")[0].severity == "error"


def transfer_from_a_term_change(receiver: dict | None = None, **extra):
    """globex/globex pins 9C0009, which sits on acme/acme, whose term changes (acme sorts first)."""
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[device("9C0009")])},
                        "globex": {"globex": merged(CURRENT_PBX, **(receiver or {}))}}, **extra)
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, term="1m")}),
               customer_file("globex", pbxes={"globex": merged(DESIRED_PBX, hwaas={"WorkForce": 1},
                                                               pinned={"9C0009": "hwaas"})})]
    return plan(desired, current, TODAY, Policy())


def test_a_transfer_runs_before_its_source_pbx_changes_term():
    """It was judged on today's terms: the source's term change waits for it, so they still match."""
    result = transfer_from_a_term_change()
    assert [(s.customer, s.action.value) for s in result.steps] == [
        ("globex", "transfer-hwaas"), ("acme", "remove-licenses"), ("acme", "change-term"), ("acme", "add-licenses")]
    transfer, remove = result.steps[:2]
    assert transfer.status is Status.READY and all(s.status is Status.READY for s in result.steps)
    assert remove.depends_on == [transfer.id] and "transfer-conditions" in remove.rules


@pytest.mark.parametrize("receiver, extra, status", [
    ({"expires_on": "2027-06-14"}, {}, Status.MANUAL),                               # a ticket: no match needed
    ({}, {"partner": {"overdue_since": "2026-10-01"}}, Status.BLOCKED),             # license steps still go
])
def test_a_transfer_that_does_not_run_now_does_not_hold_its_source_term_change(receiver, extra, status):
    result = transfer_from_a_term_change(receiver, **extra)
    assert one(result, Action.TRANSFER_HWAAS).status is status
    assert actions(result)[:3] == ["remove-licenses", "change-term", "add-licenses"]
    assert all(s.status is Status.READY for s in result.steps if s.customer == "acme")
    assert one(result, Action.REMOVE_LICENSES).depends_on == []


# --- hwaas-needs-subscription ---------------------------------------------------------------------------

@pytest.mark.parametrize("current", [None, CURRENT_PBX])   # a new PBX without licenses; one going to zero
def test_hwaas_needs_subscription_no_order_on_a_pbx_without_licenses(current):
    desired = merged(DESIRED_PBX, licenses={}, allow_deletion=True, hwaas={"WorkForce": 2})
    result = plan([customer_file(pbxes={"acme": desired})], snapshot({"acme": {"acme": current} if current else {}}),
                  TODAY, Policy())
    order = one(result, Action.ORDER_HWAAS)
    assert (order.status, order.not_before) == (Status.BLOCKED, None)
    assert "hwaas-needs-subscription" in order.rules and "no licenses" in order.instruction
    (found,) = diagnostics(result, "hwaas-needs-subscription")
    assert (found.severity, found.customer, found.pbx) == ("error", "acme", "acme") and result.has_errors


def test_hwaas_needs_subscription_silent_on_a_licensed_pbx():
    result = scene(desired={"hwaas": {"WorkForce": 2}})
    assert one(result, Action.ORDER_HWAAS).status is Status.READY
    assert not diagnostics(result, "hwaas-needs-subscription") and not tagged(result, "hwaas-needs-subscription")


def licensed_by_a_move(new_pbx: dict, desired: dict):
    """acme moves its licenses from acme-old to acme-new (the portal licenses one PBX of a customer)."""
    current = snapshot({"acme": {"acme-old": CURRENT_PBX, "acme-new": merged(CURRENT_PBX, **new_pbx)}})
    return plan([customer_file(pbxes={"acme-new": merged(DESIRED_PBX, **desired)})], current, TODAY,
                Policy(deletions="allow"))


@pytest.mark.parametrize("devices, desired, action", [
    ([], {"hwaas": {"WorkForce": 1}}, Action.ORDER_HWAAS),
    ([device("9C0001", billing="capex")], {"hwaas": {"WorkForce": 1}, "pinned": {"9C0001": "hwaas"}},
     Action.CONVERT_TO_HWAAS),
])
def test_hwaas_needs_subscription_devices_wait_for_the_licenses_of_a_move(devices, desired, action):
    """Judged as the PBX is when the step runs: after the add that licenses it, itself after the old PBX's removal."""
    result = licensed_by_a_move({"licenses": {}, "devices": devices}, desired)
    assert actions(result) == ["remove-licenses", "add-licenses", action.value]
    remove, add, acquire = result.steps
    assert add.depends_on == [remove.id] and acquire.depends_on == [add.id]
    assert "hwaas-needs-subscription" in acquire.rules and acquire.status is Status.READY


def test_hwaas_needs_subscription_no_wait_on_a_pbx_already_licensed():
    result = licensed_by_a_move({}, {"hwaas": {"WorkForce": 1}})
    order = one(result, Action.ORDER_HWAAS)
    assert order.depends_on == [] and "hwaas-needs-subscription" not in order.rules


def to_lifetime(*devices):
    return scene(current={**VIRTUAL, "devices": list(devices)}, desired={**VIRTUAL, "term": "lifetime"})


def test_devices_are_returned_before_a_term_change_to_lifetime():
    result = to_lifetime(device("9C0001"))
    assert actions(result) == ["return-hwaas", "remove-licenses", "change-term", "add-licenses"]
    returned, remove = result.steps[:2]
    assert remove.depends_on == [returned.id] and "hwaas-needs-subscription" in remove.rules
    assert all(s.status is Status.READY for s in result.steps)


def test_a_blocked_return_blocks_the_term_change_to_lifetime():
    result = to_lifetime(device("9C0001", since="2026-08-01"))
    assert actions(result) == ["return-hwaas", "remove-licenses", "change-term", "add-licenses"]
    assert [(s.status, s.not_before) for s in result.steps] == [(Status.BLOCKED, D("2027-02-01"))] * 4
    assert "hwaas-minimum-term" in result.steps[1].rules


def test_a_manual_return_holds_the_term_change_to_lifetime():
    """apply runs no step whose prerequisite was not carried out: the chain waits for the person."""
    result = to_lifetime(device("9C0001", commitment=True))
    returned, remove = result.steps[:2]
    assert (returned.status, remove.status) == (Status.MANUAL, Status.READY)
    assert remove.depends_on == [returned.id]


def test_returns_do_not_hold_back_a_term_change_between_subscriptions():
    result = scene(current={"devices": [device("9C0001")]}, desired={"term": "1m", "hwaas": {}})
    assert actions(result) == ["remove-licenses", "change-term", "add-licenses", "return-hwaas"]
    assert one(result, Action.REMOVE_LICENSES).depends_on == [] and not tagged(result, "hwaas-needs-subscription")


# --- hwaas-follows-pbx-term / hwaas-agreement -----------------------------------------------------------

def test_hwaas_follows_pbx_term_on_an_order():
    result = scene(current=HAS_ONE, desired={"hwaas": {"WorkForce": 3}})
    order = one(result, Action.ORDER_HWAAS)
    assert order.changes.document() == {"product": "WorkForce", "quantity": 2, "expected": {"WorkForce": 1}}
    (found,) = diagnostics(result, "hwaas-follows-pbx-term")
    assert "2027-05-14" in found.message and "1y" in found.message


def test_worked_example_000_service_ordered_mid_term_expires_with_the_pbx():
    result = scene(current={"activated_on": "2020-05-14", "expires_on": "2021-05-14", **HAS_ONE},
                   desired={"hwaas": {"WorkForce": 2}}, today=D("2020-08-10"))
    (found,) = diagnostics(result, "hwaas-follows-pbx-term")
    assert "expire with it on 2021-05-14" in found.message and "from 2020-08-10" in found.message


def test_hwaas_follows_pbx_term_silent_without_orders():
    assert not diagnostics(scene(current=HAS_ONE, desired={"hwaas": {"WorkForce": 1}}), "hwaas-follows-pbx-term")


@pytest.mark.parametrize("current, fires", [({}, True), (HAS_ONE, False),
                                            ({"devices": [device("9C0001", billing="capex")]}, True)])
def test_hwaas_agreement_on_the_first_order(current, fires):
    result = scene(current=current, desired={"hwaas": {"WorkForce": 2}})
    assert bool(diagnostics(result, "hwaas-agreement")) is fires


# --- negative-stock -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stock, message", [
    ({"MonoLED": 0}, "the stock goes from 0 to -186"),    # the worked example of seed 002
    ({"MonoLED": 100}, "the stock goes from 100 to -86"),
    ({"MonoLED": 186}, None),
    ({}, None),                                           # stock not known: silent
])
def test_negative_stock(stock, message):
    result = scene(desired={"hwaas": {"MonoLED": 186}}, stock=stock)
    found = diagnostics(result, "negative-stock")
    assert [d.message.split(": ", 1)[1] for d in found] == ([message + " (a backorder)"] if message else [])
    assert one(result, Action.ORDER_HWAAS).status is Status.READY


def test_negative_stock_counts_orders_across_customers():
    current = snapshot({"acme": {"acme": CURRENT_PBX}, "globex": {"globex": CURRENT_PBX}}, stock={"MonoLED": 3})
    desired = [customer_file(name, pbxes={name: merged(DESIRED_PBX, hwaas={"MonoLED": 2})})
               for name in ("acme", "globex")]
    found = diagnostics(plan(desired, current, TODAY, Policy()), "negative-stock")
    assert [d.customer for d in found] == ["globex"] and "from 1 to -1" in found[0].message


# --- known-product ------------------------------------------------------------------------------------

@pytest.mark.parametrize("catalog, fires", [({"WorkForce", "MonoLED"}, True), (None, False),
                                            ({"WorkForse", "MonoLED"}, False)])
def test_known_product(catalog, fires):
    result = scene(desired={"hwaas": {"WorkForse": 1}}, catalog=catalog)
    found = diagnostics(result, "known-product")
    assert bool(found) is fires
    if fires:
        assert "did you mean 'WorkForce'" in found[0].message and found[0].severity == "error"


# --- hwaas-unmanaged ----------------------------------------------------------------------------------

RENTED = [device("9C0001"), device("9C0002", product="MonoLED")]


def test_hwaas_unmanaged_without_the_key_the_devices_are_left_alone():
    result = scene(current={"devices": RENTED}, desired={})
    assert result.steps == []
    (note,) = diagnostics(result, "hwaas-unmanaged")
    assert (note.severity, note.pbx) == ("info", "acme")
    assert "not managed" in note.message and "9C0001, 9C0002" in note.message


@pytest.mark.parametrize("desired, returned", [
    ({"hwaas": {}}, ["9C0001", "9C0002"]),          # {}: none wanted
    ({"hwaas": {"WorkForce": 1}}, ["9C0002"]),      # MonoLED is not named: none wanted
])
def test_hwaas_unmanaged_silent_with_the_key(desired, returned):
    result = scene(current={"devices": RENTED}, desired=desired)
    assert sorted(serial for s in steps(result, Action.RETURN_HWAAS) for serial in s.changes.document()["serials"]) == returned
    assert not diagnostics(result, "hwaas-unmanaged")


def test_hwaas_unmanaged_pins_are_still_carried_out():
    """Same rule for `pinned`: what is pinned is done, what is not named is left alone."""
    result = scene(current={"devices": [device("9C0001"), device("9C0003", billing="capex")]},
                   desired={"pinned": {"9C0003": "hwaas"}})
    assert actions(result) == ["convert-to-hwaas"]
    assert "9C0001" in diagnostics(result, "hwaas-unmanaged")[0].message


# --- decommission-returns-hwaas ------------------------------------------------------------------------

def decommissioned(*devices, prune: bool = False, today=TODAY):
    """acme keeps acme; branch, with `devices`, is removed from the file (or, with prune, the customer is)."""
    current = snapshot({"acme": {"acme": CURRENT_PBX},
                        "globex": {"branch": merged(CURRENT_PBX, devices=list(devices))}})
    files = [customer_file()] + ([] if prune else [customer_file("globex", pbxes={})])
    return plan(files, current, today, Policy(deletions="allow", prune=prune))


@pytest.mark.parametrize("prune", [False, True])
def test_decommission_returns_hwaas_before_the_last_licenses_go(prune):
    result = decommissioned(device("9C0001"), device("9C0002"), prune=prune)
    assert actions(result) == ["return-hwaas", "remove-licenses"]
    returned, remove = result.steps
    assert returned.changes.document()["serials"] == ["9C0001", "9C0002"] and returned.status is Status.READY
    assert remove.depends_on == [returned.id] and "decommission-returns-hwaas" in remove.rules
    assert not diagnostics(result, "decommission-returns-hwaas")


def test_decommission_returns_hwaas_at_zero_licenses_even_without_the_key():
    result = scene(current={"devices": [device("9C0001")]}, desired={"licenses": {}, "allow_deletion": True})
    assert actions(result) == ["return-hwaas", "remove-licenses"]
    assert not diagnostics(result, "hwaas-unmanaged")


@pytest.mark.parametrize("held, status", [
    (device("9C0001", since="2026-09-01"), Status.BLOCKED),     # the 6-month minimum
    (device("9C0001", commitment=True), Status.MANUAL),         # a commitment: Customer Care
])
def test_decommission_returns_hwaas_names_the_devices_still_billed(held, status):
    result = decommissioned(held, device("9C0002"))
    waiting = [s for s in steps(result, Action.RETURN_HWAAS) if s.status is status]
    assert [s.changes.document()["serials"] for s in waiting] == [["9C0001"]]
    remove = one(result, Action.REMOVE_LICENSES)
    assert remove.status is Status.READY and waiting[0].id not in remove.depends_on  # the PBX still goes
    (found,) = diagnostics(result, "decommission-returns-hwaas")
    assert found.severity == "warning" and "9C0001" in found.message and "9C0002" not in found.message
    assert "deleted on 2026-12-02" in found.message


def test_decommission_returns_hwaas_silent_on_a_pbx_kept():
    result = scene(current={"devices": [device("9C0001")]}, desired={"hwaas": {"WorkForce": 1}})
    assert result.steps == [] and not diagnostics(result, "decommission-returns-hwaas")


# --- pinned-within-count -------------------------------------------------------------------------------

@pytest.mark.parametrize("hwaas, fires", [
    ({"WorkForce": 0}, True),
    ({}, True),                        # not named: zero wanted
    ({"MonoLED": 2}, True),
    ({"WorkForce": 1}, False),         # the pinned device is the one counted
    ({"WorkForce": 2}, False),
    (None, False),                     # no hwaas key: no count, only the pin is managed
])
def test_pinned_within_count(hwaas, fires):
    desired = {"pinned": {"9C0001": "hwaas"}} | ({"hwaas": hwaas} if hwaas is not None else {})
    result = scene(current={"devices": [device("9C0001", billing="capex")]}, desired=desired)
    found = diagnostics(result, "pinned-within-count")
    assert bool(found) is fires
    if fires:
        assert found[0].severity == "error" and found[0].pbx == "acme" and result.has_errors
        assert "pins 1 WorkForce (9C0001)" in found[0].message


# --- hwaas-follows-pbx-term: a term change moves the devices that stay -------------------------------------

@pytest.mark.parametrize("devices, hwaas, moving", [
    ([device("9C0001"), device("9C0002")], {"WorkForce": 1}, "(9C0002) follow its term change to 1m, expiring with "
                                                             "it on 2026-12-18"),   # 9C0001, the oldest, goes back
    ([device("9C0001")], {"WorkForce": 1}, "(9C0001) follow its term change to 1m"),
    ([device("9C0001")], {}, None),                                                 # returned: nothing moves
    ([], {}, None),
])
def test_hwaas_follows_pbx_term_names_the_devices_a_term_change_moves(devices, hwaas, moving):
    result = scene(current={"devices": devices}, desired={"term": "1m", "hwaas": hwaas})
    found = [d for d in diagnostics(result, "hwaas-follows-pbx-term") if "term change" in d.message]
    assert [moving in d.message for d in found] == ([True] if moving else [])
