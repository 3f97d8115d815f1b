"""A step's `changes` have one shape per action: what the typing buys, pinned.

- every action the planner emits (the diff's `add(Action...)` calls) and every action of the
  catalog has its step model in the union, and nothing else is in it;
- a step whose changes lack a field its action needs, or carry one it does not know, is refused
  by `Plan.model_validate` with the field named (a saved plan, the portal's API read it so);
- the models keep the document: every example plan's steps dump back to the same JSON, keys in
  the same order, optional keys absent rather than null.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from reconciler.plan.changes import FORMS, Changes, LicenseMoves, SetOptions, TransferHwaas, changes_of
from reconciler.plan.model import (Action, CostItem, CostTotals, ManualCosts, Plan, new_step, parse_step, step_type,
                                   step_union)

ROOT = Path(__file__).resolve().parent.parent
PLANS = sorted((ROOT / "plans").glob("*.json"))
STEPS = [step for path in PLANS for step in json.loads(path.read_text())["steps"]]
DIFF = [ROOT / "reconciler" / "plan" / "build.py", ROOT / "reconciler" / "plan" / "devices.py"]


def one_of_each() -> dict[str, dict]:
    """The first step of each action in the example plans, with a set-options step beside them (no example
    plan has one)."""
    found: dict[str, dict] = {}
    for step in STEPS:
        found.setdefault(step["action"], step)
    found.setdefault("set-options", {**STEPS[0], "action": "set-options", "changes": {"storage_gb": [20, 50]}})
    return found


def plan_of(*steps: dict) -> dict:
    return {"tool_version": "test", "today": "2026-11-30", "steps": list(steps)}


def test_every_action_the_planner_emits_and_the_catalog_names_has_its_model():
    calls = [re.findall(r"add\([^()]*?Action\.([A-Z_]+)", path.read_text()) for path in DIFF]
    emitted = {Action[name] for names in calls for name in names}
    assert emitted == set(Action)  # the diff emits every action of the catalog
    assert set(FORMS) == {action.value for action in Action}
    assert all(step_type(action).model_fields["changes"].annotation is FORMS[action.value] for action in Action)
    assert set(one_of_each()) == {action.value for action in Action}
    members = step_union().__origin__.__args__
    assert {kind.model_fields["action"].annotation.__args__[0] for kind in members} == set(Action)
    assert all(issubclass(kind, Changes) for kind in FORMS.values())


@pytest.mark.parametrize("action", sorted(one_of_each()))
def test_a_step_without_a_field_its_action_needs_is_refused_with_the_field_named(action):
    step = one_of_each()[action]
    kind = FORMS[action]
    required = [field.alias or name for name, field in kind.model_fields.items() if field.is_required()]
    for missing in required:
        broken = {**step, "changes": {k: v for k, v in step["changes"].items() if k != missing}}
        with pytest.raises(ValidationError) as caught:
            Plan.model_validate(plan_of(broken))
        [error] = caught.value.errors()
        assert error["type"] == "missing" and error["loc"] == ("steps", 0, action, "changes", missing)
    assert Plan.model_validate(plan_of(step)).steps[0].changes.document() == step["changes"]


def test_a_field_no_action_has_is_refused_and_the_other_actions_form_is_not_taken():
    order = one_of_each()["order-hwaas"]
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate(plan_of({**order, "changes": {**order["changes"], "serial": ["9C0001"]}}))
    assert [e["loc"][-1] for e in caught.value.errors()] == ["serial"]
    with pytest.raises(ValidationError, match="steps.0.add-licenses.changes.term"):  # a term change's form
        Plan.model_validate(plan_of({**order, "action": "add-licenses", "changes": {"term": ["1y", "1m"]}}))
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_step({**order, "action": "order-pbx"})


def test_a_pair_is_two_values_and_a_count_a_number():
    remove = one_of_each()["remove-licenses"]
    for bad in ([10], [10, 0, 0], ["ten", 0]):
        with pytest.raises(ValidationError, match="licenses.basic"):
            parse_step({**remove, "changes": {"licenses.basic": bad}})


@pytest.mark.parametrize("path", PLANS, ids=[p.stem for p in PLANS])
def test_every_example_plans_steps_keep_their_document_keys_and_order(path):
    document = json.loads(path.read_text())
    for data in document["steps"]:
        step = parse_step(data)
        assert type(step) is step_type(step.action)
        dumped = step.model_dump(mode="json")
        assert json.dumps(dumped, sort_keys=True) == json.dumps(data, sort_keys=True)
        assert changes_of(data).document() == data["changes"]
        assert None not in dumped["changes"].values()  # an optional key is absent, never null


def test_the_typed_fields_read_the_documents_keys():
    transfer = TransferHwaas.model_validate({"product": "WorkForce", "quantity": 1, "serials": ["9C0009"],
                                             "from": "globex/globex"})
    assert transfer.source == "globex/globex" and transfer.billing is None
    assert list(transfer.document()) == ["product", "quantity", "serials", "from"]
    moves = LicenseMoves.model_validate({"licenses.service": [0, 2], "licenses.basic": [3, 1]})
    assert moves.moves() == {"basic": (3, 1), "service": (0, 2)}  # PROFILES order
    assert list(moves.document()) == ["licenses.basic", "licenses.service"]
    options = SetOptions(ssh=(None, True), storage_gb=(20, 50))
    assert options.document() == {"storage_gb": [20, 50], "ssh": [None, True]} and not options.moves_pbx
    step = new_step(Action.SET_OPTIONS, id=1, customer="acme", pbx="acme", changes={"region": ["a", "b"]})
    assert step.changes.moves_pbx and step.changes.region == ("a", "b")


def test_the_plans_optional_parts_are_absent_when_none_and_kept_when_set():
    item = {"product": "WorkForce", "term": "1y", "quantity": 1, "unit_price": "10.00", "one_off": "5.00",
            "recurring": "10.00"}
    assert "billed_to" not in CostItem.model_validate(item).model_dump(mode="json")
    assert CostItem.model_validate({**item, "billed_to": "globex/globex"}).model_dump(mode="json")["billed_to"] \
        == "globex/globex"
    assert "manual" not in CostTotals(one_off="0.00").model_dump(mode="json")
    manual = ManualCosts(steps=[2], one_off=None, recurring=None)
    assert CostTotals(one_off="0.00", manual=manual).model_dump(mode="json")["manual"] == \
        {"steps": [2], "one_off": None, "recurring": None}  # inside a part that is there, a null stays null
    bare = Plan.model_validate(plan_of())
    for dumped in (bare.model_dump(mode="json"), json.loads(bare.model_dump_json())):
        assert "drift" not in dumped and "costs" not in dumped["summary"]
        assert dumped["summary"]["earliest_not_before"] is None  # not one of the parts absent when none
    assert Plan.model_validate({**plan_of(), "drift": []}).model_dump(mode="json")["drift"] == []
    options = SetOptions(ssh=(None, True))
    assert json.loads(options.model_dump_json()) == {"ssh": [None, True]}
