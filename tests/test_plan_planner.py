"""The planner end to end: semantics of FORMAT.md section 2, the order of steps, determinism."""

from __future__ import annotations

import json

import pytest

from reconciler.plan.model import Plan
from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, Status, actions, as_json,
                                     customer_file, device, merged, one, plan, scene, snapshot, steps)


def big_scene(today=TODAY) -> Plan:
    """Several customers and PBXs, given in unsorted order, touching most actions."""
    current = snapshot({
        "zeta": {"zeta": merged(CURRENT_PBX, devices=[device("9C0009"), device("9C0010")])},
        "acme": {
            "main": merged(CURRENT_PBX, devices=[
                device("9C0001", billing="capex", since=None), device("9C0002", since="2024-01-01"),
                device("9C0003", product="MonoLED", since="2024-02-01"),
                device("9C0004", product="MonoLED", since="2024-03-01")]),
            "old": merged(CURRENT_PBX, licenses={"service": 2}),
        },
    }, stock={"MonoLED": 0, "WorkForce": 5})
    desired = [
        customer_file("zeta", pbxes={"zeta": merged(DESIRED_PBX, hwaas={"WorkForce": 1})}),
        customer_file("newco", pbxes={"hq": {"model": "hardware", "term": "1y", "licenses": {"basic": 3}},
                                      "cloud": merged(DESIRED_PBX, hwaas={"MonoLED": 2})}),
        customer_file("acme", pbxes={
            "main": merged(DESIRED_PBX, term="1m", licenses={"basic": 4, "essential": 40},
                           hwaas={"WorkForce": 4, "MonoLED": 1}, pinned={"9C0001": "hwaas", "9C0009": "hwaas"},
                           storage_gb=80),
            "zz-new": {"model": "virtual", "term": "1m"},
        }),
    ]
    return plan(desired, current, today, Policy(deletions="allow"))


def test_in_sync_plans_no_steps():
    result = scene(current={"devices": [device("9C0001"), device("9C0002", billing="capex")]},
                   desired={"hwaas": {"WorkForce": 1}})
    assert result.steps == [] and result.diagnostics == []
    assert result.summary.steps == 0 and result.summary.earliest_not_before is None


def test_planning_twice_gives_byte_identical_json():
    first, second = as_json(big_scene()), as_json(big_scene())
    assert first == second
    assert json.loads(first)["format_version"] == "1"


def test_the_document_has_the_contracts_top_level_keys():
    doc = big_scene().model_dump(mode="json")
    assert set(doc) == {"format_version", "tool_version", "today", "timezone", "summary", "diagnostics", "steps",
                        "fingerprints"}
    assert set(doc["steps"][0]) == {"id", "customer", "pbx", "action", "changes", "status", "not_before", "rules",
                                    "depends_on", "instruction", "cost"}
    assert set(doc["diagnostics"][0]) == {"severity", "rule", "message", "customer", "pbx", "file", "line",
                                          "column"}
    assert doc["fingerprints"] == {}
    assert Plan.model_validate(doc) == big_scene()  # round trip


def test_steps_are_numbered_in_order_and_depend_only_on_earlier_steps():
    result = big_scene()
    assert [s.id for s in result.steps] == list(range(1, len(result.steps) + 1))
    for step in result.steps:
        assert all(d < step.id for d in step.depends_on)


def test_customers_by_id_then_pbxs_by_name():
    result = big_scene()
    places = [(s.customer, s.pbx or "") for s in result.steps]
    customers = [c for c, _ in places]
    assert customers == sorted(customers)
    for customer in set(customers):
        names = list(dict.fromkeys(p for c, p in places if c == customer))
        assert names == sorted(names)  # by first step: acme/main's term change waits for acme/old (see below)


def test_the_big_scene_in_full():
    result = big_scene()
    assert [(s.customer, s.pbx, s.action.value) for s in result.steps] == [
        ("acme", "main", "set-options"), ("acme", "main", "return-hwaas"),
        ("acme", "old", "remove-licenses"),   # one licensed PBX per customer: old's go before main's come back
        ("acme", "main", "remove-licenses"), ("acme", "main", "change-term"), ("acme", "main", "add-licenses"),
        ("acme", "main", "convert-to-hwaas"), ("acme", "main", "transfer-hwaas"), ("acme", "main", "order-hwaas"),
        ("acme", "zz-new", "create-pbx"),
        ("newco", None, "create-customer"), ("newco", "cloud", "create-pbx"), ("newco", "cloud", "order-hwaas"),
        ("newco", "hq", "purchase-hardware-pbx"), ("newco", "hq", "create-pbx"),
    ]
    # the giver (zeta: two WorkForce, wants one, gives 9C0009 away) returns nothing
    assert not [s for s in result.steps if s.customer == "zeta"]
    assert one(result, Action.RETURN_HWAAS).changes.document() == {"product": "MonoLED", "quantity": 1, "serials": ["9C0003"]}
    order = [s for s in steps(result, Action.ORDER_HWAAS) if s.pbx == "main"][0]
    assert order.changes.document() == {"product": "WorkForce", "quantity": 1,  # 4 wanted: 9C0002, converted, transferred
                             "expected": {"WorkForce": 2}}  # 9C0002 and the converted one: the transfer is manual
    summary = result.summary
    assert summary.steps == 15 and summary.ready + summary.blocked + summary.manual == 15
    assert set(summary.by_customer) == {"acme", "newco"}


def term_change(result: Plan) -> list:
    return [s for s in result.steps if s.pbx == "main"
            and s.action in (Action.REMOVE_LICENSES, Action.CHANGE_TERM, Action.ADD_LICENSES)]


def test_term_change_steps_are_contiguous_and_chained():
    result = big_scene()
    remove, change, add = term_change(result)
    assert change.depends_on == [remove.id] and add.depends_on == [change.id]
    assert [change.id, add.id] == [remove.id + 1, remove.id + 2]


def test_a_term_change_starts_once_the_customers_other_licensed_pbx_went_to_zero():
    result = big_scene()
    old = [s for s in result.steps if s.pbx == "old"]
    remove = term_change(result)[0]
    assert [s.action for s in old] == [Action.REMOVE_LICENSES] and remove.depends_on == [old[0].id]
    assert "one-licensed-pbx-per-customer" in remove.rules


def test_conversions_and_transfers_come_before_orders_and_returns_of_the_same_product():
    result = big_scene()
    main = [s for s in result.steps if s.pbx == "main"]
    position = {s.action: s.id for s in main}
    order = [s for s in main if s.action is Action.ORDER_HWAAS][0]
    assert position[Action.CONVERT_TO_HWAAS] < order.id and position[Action.TRANSFER_HWAAS] < order.id
    assert set(order.depends_on) >= {position[Action.CONVERT_TO_HWAAS], position[Action.TRANSFER_HWAAS]}


def test_devices_coming_to_a_pbx_wait_for_its_term_change():
    result = big_scene()
    add = term_change(result)[2]
    convert = one(result, Action.CONVERT_TO_HWAAS)
    assert add.id in convert.depends_on


def test_a_new_pbxs_steps_need_its_creation():
    result = big_scene()
    create, order = [s for s in result.steps if s.pbx == "cloud"]
    assert order.depends_on == [create.id]


def test_blocked_propagates_to_dependent_steps():
    result = big_scene(today=D("2026-11-30"))
    remove, change, add = term_change(result)
    assert {s.not_before for s in (remove, change, add)} == {D("2026-12-01")}
    assert all(s.status is Status.BLOCKED for s in (remove, change, add))
    for dependent in (one(result, Action.CONVERT_TO_HWAAS),):
        assert dependent.status is Status.BLOCKED and dependent.not_before == D("2026-12-01")
        assert "waits for add-licenses on acme/main" in dependent.instruction
    assert result.summary.earliest_not_before == D("2026-12-01")


def test_a_pbx_absent_from_its_file_is_decommissioned():
    current = snapshot({"acme": {"acme": CURRENT_PBX, "branch": merged(CURRENT_PBX, devices=[device("9C0001")])}})
    result = plan([customer_file()], current, TODAY, Policy(deletions="allow"))
    remove = one(result, Action.REMOVE_LICENSES)
    assert remove.pbx == "branch"
    assert remove.changes.document() == {"licenses.basic": [10, 0], "licenses.essential": [30, 0], "licenses.premium": [5, 0]}
    returned = one(result, Action.RETURN_HWAAS)  # decommission-returns-hwaas: its rented device goes back first
    assert actions(result) == ["return-hwaas", "remove-licenses"]
    assert (returned.pbx, returned.changes.document()["serials"], returned.status) == ("branch", ["9C0001"], Status.READY)


def test_counts_include_pinned_devices():
    result = scene(current={"devices": [device("9C0001", billing="capex"), device("9C0002")]},
                   desired={"hwaas": {"WorkForce": 2}, "pinned": {"9C0001": "hwaas"}})
    assert actions(result) == ["convert-to-hwaas"]


def test_a_transfer_out_is_not_returned_by_the_giver_even_when_it_keeps_fewer():
    current = snapshot({"acme": {"acme": CURRENT_PBX},
                        "globex": {"globex": merged(CURRENT_PBX, devices=[
                            device("9C0008", since="2024-01-01"), device("9C0009", since="2023-01-01")])}})
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, hwaas={"WorkForce": 1},
                                                   pinned={"9C0009": "hwaas"})}),
               customer_file("globex", pbxes={"globex": merged(DESIRED_PBX, hwaas={"WorkForce": 0})})]
    result = plan(desired, current, TODAY, Policy())
    assert [(s.customer, s.action.value, s.changes.document().get("serials")) for s in result.steps] == [
        ("acme", "transfer-hwaas", ["9C0009"]), ("globex", "return-hwaas", ["9C0008"])]


def test_errors_do_not_stop_the_plan():
    result = plan([customer_file(pbxes={})], snapshot(), TODAY, Policy(deletions="deny"))
    assert result.has_errors and result.steps and result.summary.errors == 1


@pytest.mark.parametrize("today", ["2026-11-18", "2026-11-30"])
def test_diagnostics_are_sorted_and_unique(today):
    result = big_scene(today=D(today))
    keys = [(d.customer or "", d.pbx or "") for d in result.diagnostics]
    assert keys == sorted(keys)
    assert len(set(result.diagnostics)) == len(result.diagnostics)


def test_worked_example_004_one_pbx_one_term():
    result = plan([customer_file("newco", pbxes={"newco": merged(DESIRED_PBX)})], snapshot({}), TODAY, Policy())
    create = one(result, Action.CREATE_PBX)
    assert {k: v for k, v in create.changes.document()["licenses"].items() if v} == {"basic": 10, "essential": 30, "premium": 5}
    assert create.changes.document()["term"] == "1y"


def test_a_pbx_on_the_deletion_clock_is_saved_before_anything_else():
    """An apply interrupted after 'remove every license' of a term change: the next plan finishes it first."""
    interrupted = merged(CURRENT_PBX, term="1m", licenses={}, status="deletion-scheduled",
                         deletion_scheduled_on="2026-11-17", expires_on="2026-12-14")
    first_by_name = merged(CURRENT_PBX, licenses={"basic": 1})
    result = plan([customer_file("aaa"), customer_file("zzz")],
                  snapshot({"aaa": {"aaa": first_by_name}, "zzz": {"zzz": interrupted}}), TODAY, Policy())
    assert [(s.customer, s.action.value) for s in result.steps] == [
        ("zzz", "change-term"), ("zzz", "add-licenses"), ("aaa", "add-licenses")]


def test_the_last_passes_copy_only_the_steps_they_change():
    """Tagging, sorting and numbering a finished plan's steps again changes none of them: each is kept as it is (a
    frozen model), not copied; a step a pass does change is a new one, and the old one is as it was."""
    from reconciler.plan.context import Edge, Verdict
    from reconciler.plan.order import apply_verdicts, sort_steps
    from reconciler.plan.planner import _numbered

    finished = list(big_scene().steps)
    edges = [Edge(step.id, need) for step in finished for need in step.depends_on]
    for again in (apply_verdicts(finished, [], True), sort_steps(finished, edges), _numbered(finished)):
        assert len(again) == len(finished) and all(new is old for new, old in zip(again, finished))
    first = finished[0]
    tagged = apply_verdicts(finished, [Verdict(first.id, "deletion-clock")], True)
    assert tagged[0] is not first and tagged[0].rules == sorted({*first.rules, "deletion-clock"})
    assert "deletion-clock" not in first.rules and all(new is old for new, old in zip(tagged[1:], finished[1:]))
