"""A saved plan is proven before apply: not altered, a known format, today's, not stale (what moved, by field)."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.apply.verify import (DesiredChanged, PlanAltered, PlanDateBound, PlanFormatUnknown, StalePlan,
                                     state_changes, verify_saved_plan)
from reconciler.plan.saved import checksum
from reconciler.workflow import fingerprint_state
from tests.test_apply_support import DESIRED, TODAY, document, mixed_steps, snapshot
from tests.test_plan_support import CURRENT_PBX, device, merged


def verify(saved, current=None, desired=DESIRED, today=TODAY):
    current = current or snapshot()
    verify_saved_plan(saved, current=current, current_fingerprint=fingerprint_state(current),
                      desired_fingerprint=desired, today=today)


def resealed(saved: dict, **changes) -> dict:
    data = {key: value for key, value in saved.items() if key != "checksum"} | changes
    return data | {"checksum": checksum(data)}


def test_a_fresh_plan_passes():
    verify(document(mixed_steps()))


def test_an_altered_plan_is_refused_first():
    saved = document(mixed_steps())
    saved["steps"][0]["changes"]["licenses.essential"] = [30, 300]
    with pytest.raises(PlanAltered, match=r"^the plan file was altered since it was saved \(its checksum does not "
                                          r"match\); plan again$"):
        verify(saved, today=dt.date(2030, 1, 1), desired="other")  # altered is checked before everything else
    del saved["checksum"]
    with pytest.raises(PlanAltered, match=r"^the plan file was altered since it was saved \(it has no checksum\)"):
        verify(saved)


def test_an_unknown_format_version_is_refused():
    with pytest.raises(PlanFormatUnknown, match="format_version '2', which this reconciler does not read"):
        verify(resealed(document(mixed_steps()), format_version="2"))


def test_a_plan_made_for_another_date_is_refused():
    with pytest.raises(PlanDateBound) as caught:
        verify(document(mixed_steps(), today=dt.date(2026, 11, 22)), today=dt.date(2026, 11, 23))
    assert str(caught.value) == ("the plan was made for 2026-11-22, today is 2026-11-23: "
                                 "calendar rules may judge differently; plan again")
    assert caught.value.rule == "plan-date-bound"


def test_changed_desired_files_make_the_plan_stale():
    with pytest.raises(DesiredChanged, match="the desired-state files changed since it was made; plan again"):
        verify(document(mixed_steps()), desired="sha256:edited")


def test_a_stale_plan_lists_what_changed_in_the_portal_field_by_field():
    recorded = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[device("9C7514000001", billing="capex",
                                                                               since=None)]),
                                  "old": CURRENT_PBX}}, stock={"WorkForce": 12})
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, term="1m",
                                                licenses={"basic": 10, "essential": 28, "premium": 5},
                                                devices=[device("9C7514000001", since="2026-11-20"),
                                                         device("9C7514000009")])},
                        "globex": {}}, stock={"WorkForce": 10}, partner={"overdue_since": "2026-11-01"})
    current = current.model_copy(update={"as_of": dt.date(2026, 11, 19)})  # as_of alone is not a change
    with pytest.raises(StalePlan) as caught:
        verify(document(mixed_steps(), recorded), current)
    expected = [
        "acme/acme: devices: 9C7514000001 billing capex -> hwaas",
        "acme/acme: devices: 9C7514000001 since null -> 2026-11-20",
        "acme/acme: devices: 9C7514000009 added",
        "acme/acme: licenses.essential 30 -> 28",
        "acme/acme: term 1y -> 1m",
        "acme/old: PBX removed",
        "globex: customer added",
        "partner: overdue_since null -> 2026-11-01",
        "stock: WorkForce 12 -> 10",
    ]
    assert caught.value.changes == expected
    assert str(caught.value) == ("the plan is stale: the portal changed since it was made; plan again."
                                 + "".join(f"\n  {line}" for line in expected))
    assert caught.value.rule == "stale-plan"


def test_the_list_of_changes_is_capped():
    current = snapshot({"acme": {"acme": CURRENT_PBX}, **{f"c{n:02d}": {} for n in range(25)}})
    with pytest.raises(StalePlan) as caught:
        verify(document(mixed_steps()), current)
    lines = str(caught.value).splitlines()[1:]
    assert len(lines) == 21 and lines[0] == "  c00: customer added" and lines[-1] == "  ... and 5 more"
    assert len(caught.value.changes) == 25


def test_other_changes_read_as_paths():
    before = snapshot().model_dump(mode="json")
    after = snapshot(stock={"MonoLED": 4}, catalog={"phones": ["WorkForce"]}).model_dump(mode="json")
    after["customers"]["acme"]["contacts"].append({"name": "Max", "email": "max@acme.example"})
    assert state_changes(before, after) == [
        "acme: contacts[1] added ({\"email\":\"max@acme.example\",\"name\":\"Max\"})",
        "catalog: null -> {\"phones\":[\"WorkForce\"]}",
        "stock: MonoLED added (4)",
    ]
    assert state_changes(before, before) == ["(no difference outside as_of)"]


def test_deepdiff_is_imported_only_when_a_plan_is_stale():
    from tests.test_apply_support import run_python

    code = ("import sys, reconciler.apply, reconciler.apply.verify; "
            "print('deepdiff' in sys.modules)")
    assert run_python(code).stdout.strip() == "False"
