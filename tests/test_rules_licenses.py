"""Table tests for the license and term rules (RULES.md, "Licenses and terms"): each fires and does not."""

from __future__ import annotations

import pytest

from reconciler.calendar import portal_day
from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, Status, customer_file,
                                     diagnostics, merged, one, plan, scene, snapshot, steps, tagged)

DECREASE = {"licenses": {"basic": 10, "essential": 20, "premium": 5}}
INCREASE = {"licenses": {"basic": 10, "essential": 40, "premium": 5}}
TERM_CHANGE = {"term": "1m"}
TO_ZERO = {"licenses": {}, "allow_deletion": True}


# --- no-decrease-last-day ---------------------------------------------------------------------

@pytest.mark.parametrize("today, not_before", [
    ("2026-11-30", "2026-12-01"),   # last day of a 30-day month
    ("2026-05-31", "2026-06-01"),   # last day of a 31-day month
    ("2026-12-31", "2027-01-01"),   # year end
    ("2027-02-28", "2027-03-01"),   # February, not a leap year
    ("2028-02-29", "2028-03-01"),   # February, leap year
    ("2026-11-29", None),
    ("2026-05-30", None),
    ("2028-02-28", None),           # not the last day in a leap year
    ("2026-12-01", None),
])
def test_no_decrease_last_day(today, not_before):
    step = one(scene(desired=DECREASE, today=D(today)), Action.REMOVE_LICENSES)
    if not_before:
        assert step.status is Status.BLOCKED
        assert step.not_before == D(not_before)
        assert "no-decrease-last-day" in step.rules
    else:
        assert step.status is Status.READY and step.not_before is None
        assert "no-decrease-last-day" not in step.rules


@pytest.mark.parametrize("today, repo_tz, portal_tz, not_before, which", [
    # the repo's Dec 1 starts on the portal's Nov 30 (UTC is an hour behind Rome)
    ("2026-12-01", "Europe/Rome", "UTC", "2026-12-02", "2026-11-30 in the portal's timezone"),
    # the repo's Nov 29 ends on the portal's Nov 30 (Rome is an hour ahead of UTC)
    ("2026-11-29", "UTC", "Europe/Rome", "2026-12-01", "2026-11-30 in the portal's timezone"),
    # the repo's own last day, while the portal is already on Dec 1 for an hour: Dec 1 is clear in both
    ("2026-11-30", "UTC", "Europe/Rome", "2026-12-01", "2026-11-30 in the repo's timezone"),
    # the repo's last day, the portal still on Nov 29 for an hour: the portal's Nov 30 runs into the repo's Dec 1
    ("2026-11-30", "Europe/Rome", "UTC", "2026-12-02", "2026-11-30 in the repo's timezone"),
    ("2026-11-30", "Europe/Rome", "Europe/Rome", "2026-12-01", "(2026-11-30)"),   # one clock: as before
    ("2026-12-02", "Europe/Rome", "UTC", None, None),
    ("2026-11-28", "UTC", "Europe/Rome", None, None),
])
def test_no_decrease_last_day_in_either_timezone(today, repo_tz, portal_tz, not_before, which):
    day = D(today)
    result = plan([customer_file(pbxes={"acme": merged(DESIRED_PBX, **DECREASE)})], snapshot(as_of=today), day,
                  Policy(), portal_today=portal_day(day, repo_tz, portal_tz))
    step = one(result, Action.REMOVE_LICENSES)
    if not_before:
        assert (step.status, step.not_before) == (Status.BLOCKED, D(not_before))
        assert which in step.instruction and "no-decrease-last-day" in step.rules
    else:
        assert step.status is Status.READY and "no-decrease-last-day" not in step.rules


def test_no_decrease_last_day_covers_a_decrease_to_zero():
    step = one(scene(desired=TO_ZERO, today=D("2026-11-30")), Action.REMOVE_LICENSES)
    assert (step.status, step.not_before) == (Status.BLOCKED, D("2026-12-01"))


def test_no_decrease_last_day_leaves_increases_alone():
    step = one(scene(desired=INCREASE, today=D("2026-11-30")), Action.ADD_LICENSES)
    assert step.status is Status.READY


def test_no_decrease_last_day_blocks_the_whole_term_change():
    result = scene(desired=TERM_CHANGE, today=D("2026-12-31"))
    assert [s.action for s in result.steps] == [Action.REMOVE_LICENSES, Action.CHANGE_TERM, Action.ADD_LICENSES]
    for step in result.steps:
        assert (step.status, step.not_before) == (Status.BLOCKED, D("2027-01-01"))
        assert "no-decrease-last-day" in step.rules


def test_no_decrease_last_day_blocks_a_decommission():
    result = plan([customer_file(pbxes={})], snapshot(), D("2027-02-28"), Policy(deletions="allow"))
    step = one(result, Action.REMOVE_LICENSES)
    assert (step.status, step.not_before) == (Status.BLOCKED, D("2027-03-01"))


# --- term-change-through-zero -------------------------------------------------------------------

def test_term_change_goes_through_zero_in_three_dependent_steps():
    result = scene(desired={"term": "1m", "licenses": {"basic": 12, "essential": 30}})
    remove, change, add = result.steps
    assert remove.changes.document() == {"licenses.basic": [10, 0], "licenses.essential": [30, 0], "licenses.premium": [5, 0]}
    assert change.changes.document() == {"term": ["1y", "1m"]}
    assert add.changes.document() == {"licenses.basic": [0, 12], "licenses.essential": [0, 30]}
    assert change.depends_on == [remove.id] and add.depends_on == [change.id]
    assert [s.id for s in result.steps] == [remove.id, remove.id + 1, remove.id + 2]  # contiguous
    assert all("term-change-through-zero" in s.rules for s in result.steps)
    assert all(s.status is Status.READY for s in result.steps)


def test_no_term_change_no_chain():
    result = scene(desired=INCREASE)
    assert not tagged(result, "term-change-through-zero")
    assert not steps(result, Action.CHANGE_TERM)


# --- add-before-remove ------------------------------------------------------------------------

def test_add_before_remove_when_users_move_between_profiles():
    result = scene(desired={"licenses": {"basic": 10, "essential": 20, "business": 10, "premium": 5}})
    add, remove = result.steps
    assert (add.action, remove.action) == (Action.ADD_LICENSES, Action.REMOVE_LICENSES)
    assert add.changes.document() == {"licenses.business": [0, 10]}
    assert remove.changes.document() == {"licenses.essential": [30, 20]}
    assert remove.depends_on == [add.id]
    assert "add-before-remove" in add.rules and "add-before-remove" in remove.rules


def test_add_before_remove_silent_with_only_one_direction():
    assert not tagged(scene(desired=DECREASE), "add-before-remove")


def test_a_blocked_remove_does_not_hold_back_the_add():
    result = scene(desired={"licenses": {"basic": 10, "essential": 20, "business": 10, "premium": 5}},
                   today=D("2026-11-30"))
    add, remove = result.steps
    assert add.status is Status.READY and remove.status is Status.BLOCKED


# --- one-licensed-pbx-per-customer ------------------------------------------------------------

def moved(current: dict, desired: dict, today=TODAY):
    """acme's licenses move between its PBXs (policy allows the old one to go to zero)."""
    return plan([customer_file(pbxes=desired)], snapshot({"acme": current}), today, Policy(deletions="allow"))


def test_licenses_moved_to_a_new_pbx_are_removed_from_the_old_one_first():
    result = moved({"old": CURRENT_PBX}, {"new": DESIRED_PBX})
    remove, create = result.steps
    assert (remove.pbx, remove.action, create.pbx, create.action) == (
        "old", Action.REMOVE_LICENSES, "new", Action.CREATE_PBX)
    assert create.depends_on == [remove.id]
    assert "one-licensed-pbx-per-customer" in create.rules


def test_licenses_moved_to_another_existing_pbx_are_removed_from_the_old_one_first():
    result = moved({"a": {**CURRENT_PBX, "licenses": {}}, "b": CURRENT_PBX},
                   {"a": DESIRED_PBX, "b": {**DESIRED_PBX, "licenses": {}}})
    remove, add = result.steps
    assert (remove.pbx, remove.action, add.pbx, add.action) == (
        "b", Action.REMOVE_LICENSES, "a", Action.ADD_LICENSES)
    assert add.depends_on == [remove.id] and "one-licensed-pbx-per-customer" in add.rules


def test_licenses_moved_wait_for_a_blocked_removal():
    result = moved({"old": CURRENT_PBX}, {"new": DESIRED_PBX}, today=D("2026-11-30"))
    remove, create = result.steps
    assert (remove.status, remove.not_before) == (Status.BLOCKED, D("2026-12-01"))
    assert (create.status, create.not_before) == (Status.BLOCKED, D("2026-12-01"))
    assert "waits for remove-licenses on acme/old" in create.instruction


def test_a_term_change_waits_for_the_other_pbx_to_go_to_zero_before_it_starts():
    """A PBX that goes through zero licenses must not wait at zero: its whole chain waits instead."""
    result = moved({"a": CURRENT_PBX, "b": CURRENT_PBX}, {"a": {**DESIRED_PBX, "term": "1m"}})
    assert [(s.pbx, s.action.value) for s in result.steps] == [
        ("b", "remove-licenses"), ("a", "remove-licenses"), ("a", "change-term"), ("a", "add-licenses")]
    first, remove = result.steps[:2]
    assert remove.depends_on == [first.id] and "one-licensed-pbx-per-customer" in remove.rules


def test_one_licensed_pbx_per_customer_silent_for_a_new_pbx_without_licenses():
    result = moved({"old": CURRENT_PBX}, {"old": DESIRED_PBX, "new": {**DESIRED_PBX, "licenses": {}}})
    create = one(result, Action.CREATE_PBX)
    assert create.depends_on == [] and not tagged(result, "one-licensed-pbx-per-customer")


# --- renewal-window -----------------------------------------------------------------------------

@pytest.mark.parametrize("today, expires, fires", [
    ("2027-05-12", "2027-05-14", True),    # 2 days before: inclusive
    ("2027-05-13", "2027-05-14", True),
    ("2027-05-14", "2027-05-14", True),    # on the day
    ("2027-05-11", "2027-05-14", False),
    ("2026-12-30", "2027-01-01", True),    # over the year end
    ("2028-02-28", "2028-03-01", True),    # leap day inside the window
    ("2027-02-26", "2027-03-01", False),   # 3 days before, February 2027 has 28 days
    ("2027-02-27", "2027-03-01", True),
])
def test_renewal_window(today, expires, fires):
    result = scene(current={"expires_on": expires}, desired=INCREASE, today=D(today))
    found = diagnostics(result, "renewal-window")
    assert bool(found) is fires
    if fires:
        assert found[0].severity == "warning" and expires in found[0].message
        assert "renewal-window" in one(result, Action.ADD_LICENSES).rules


def test_renewal_window_needs_a_license_change():
    result = scene(current={"expires_on": "2027-05-14"}, desired={"storage_gb": 100}, today=D("2027-05-13"))
    assert steps(result) and not diagnostics(result, "renewal-window")


def test_renewal_window_judges_a_blocked_step_on_its_date():
    # a decrease on 2026-11-30 runs on 2026-12-01, the day before the renewal
    result = scene(current={"expires_on": "2026-12-02"}, desired=DECREASE, today=D("2026-11-30"))
    assert diagnostics(result, "renewal-window")


# --- no-refund ---------------------------------------------------------------------------------

@pytest.mark.parametrize("desired, fires", [(DECREASE, True), (TERM_CHANGE, True), (INCREASE, False)])
def test_no_refund(desired, fires):
    found = diagnostics(scene(desired=desired), "no-refund")
    assert bool(found) is fires
    if fires:
        assert found[0].severity == "info" and "2027-05-14" in found[0].message


# --- deletion-guard ------------------------------------------------------------------------------

@pytest.mark.parametrize("deletions, allow_deletion, removed, fires", [
    ("guarded", False, False, True),
    ("guarded", True, False, False),
    ("guarded", False, True, True),    # a PBX removed from the file has no allow_deletion
    ("allow", False, False, False),
    ("allow", False, True, False),     # allow covers a removed PBX too
    ("deny", True, False, True),       # deny forbids it outright
    ("deny", False, True, True),
])
def test_deletion_guard(deletions, allow_deletion, removed, fires):
    desired = {} if removed else {"acme": {**TO_ZERO, "model": "cloud", "region": "eu-central", "term": "1y",
                                           "allow_deletion": allow_deletion}}
    result = plan([customer_file(pbxes=desired)], snapshot(), TODAY, Policy(deletions=deletions))
    found = diagnostics(result, "deletion-guard")
    assert bool(found) is fires
    assert one(result, Action.REMOVE_LICENSES).changes.document()["licenses.essential"] == [30, 0]  # planned either way
    if fires:
        assert found[0].severity == "error" and result.has_errors


def test_deletion_guard_exempts_the_transient_zero_of_a_term_change():
    assert not diagnostics(scene(desired=TERM_CHANGE), "deletion-guard")


def test_deletion_guard_fires_for_a_term_change_that_ends_at_zero():
    assert diagnostics(scene(desired={"term": "1m", "licenses": {}}), "deletion-guard")


def test_deletion_guard_silent_when_already_at_zero():
    result = scene(current={"licenses": {}}, desired={"licenses": {}})
    assert not result.steps and not diagnostics(result, "deletion-guard")


# --- cloud-deletion-schedule -------------------------------------------------------------------

def test_cloud_deletion_schedule_prints_both_dates():
    (found,) = diagnostics(scene(desired=TO_ZERO), "cloud-deletion-schedule")
    assert found.severity == "warning"
    assert "2026-11-18" in found.message and "2026-11-23" in found.message and "2026-12-02" in found.message


def test_cloud_deletion_schedule_counts_from_a_blocked_steps_date():
    (found,) = diagnostics(scene(desired=TO_ZERO, today=D("2026-12-31")), "cloud-deletion-schedule")
    assert "2027-01-01" in found.message and "2027-01-06" in found.message and "2027-01-15" in found.message


def test_cloud_deletion_schedule_for_a_term_change_says_resume_before_d5():
    (found,) = diagnostics(scene(desired=TERM_CHANGE), "cloud-deletion-schedule")
    assert "resumed before 2026-11-23" in found.message and "2026-12-02" in found.message


@pytest.mark.parametrize("current, desired", [
    ({"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None},
     {"model": "virtual", "region": None, "storage_gb": None, "static_ip": None, "ssh": None, **TO_ZERO}),
    ({}, DECREASE),   # licenses left
])
def test_cloud_deletion_schedule_silent(current, desired):
    assert not diagnostics(scene(current=current, desired=desired), "cloud-deletion-schedule")


@pytest.mark.parametrize("model, licenses, fires", [
    ("cloud", {}, True),                                                      # no subscription from the start
    ("cloud", {"basic": 1}, False),
    ("virtual", {}, False),                                                   # only cloud PBXs are deleted
])
def test_cloud_deletion_schedule_for_a_new_cloud_pbx_created_without_licenses(model, licenses, fires):
    pbx = {"model": model, "term": "1y", "licenses": licenses} | ({"region": "eu-central"} if model == "cloud" else {})
    result = plan([customer_file(pbxes={"acme": pbx})], snapshot({"acme": {}}), TODAY, Policy())
    found = diagnostics(result, "cloud-deletion-schedule")
    assert bool(found) is fires and ("cloud-deletion-schedule" in one(result, Action.CREATE_PBX).rules) is fires
    if fires:
        assert found[0].severity == "warning" and "created with zero licenses on 2026-11-18" in found[0].message
        assert "stopped on 2026-11-23" in found[0].message and "deleted on 2026-12-02" in found[0].message


# --- term-change-through-zero: the new expiry --------------------------------------------------------

@pytest.mark.parametrize("today, term, fragment", [
    ("2026-11-18", "1m", "changes from 1y to 1m from 2026-11-18: it renews, and is invoiced, on 2026-12-18 "
                         "instead of 2027-05-14"),
    ("2026-11-30", "5y", "from 2026-12-01: it renews, and is invoiced, on 2031-12-01"),   # blocked: from its D
])
def test_term_change_through_zero_says_the_new_expiry(today, term, fragment):
    result = scene(desired={"term": term}, today=D(today), as_of=today)
    notes = [d for d in diagnostics(result, "term-change-through-zero") if "renews" in d.message]
    assert [d.severity for d in notes] == ["info"] and fragment in notes[0].message


def test_term_change_through_zero_no_expiry_note_without_a_term_change():
    assert not diagnostics(scene(desired=DECREASE), "term-change-through-zero")


# --- deletion-revert -----------------------------------------------------------------------------

SCHEDULED = {"licenses": {}, "status": "deletion-scheduled", "deletion_scheduled_on": "2026-11-16"}


def test_deletion_revert_adding_a_license_saves_a_scheduled_pbx():
    result = scene(current=SCHEDULED)
    add = one(result, Action.ADD_LICENSES)
    assert add.status is Status.READY and "deletion-revert" in add.rules
    (found,) = diagnostics(result, "deletion-revert")
    assert found.severity == "info" and "2026-11-21" in found.message


@pytest.mark.parametrize("current", [
    {"licenses": {}, "status": "stopped", "deletion_scheduled_on": "2026-11-10"},
    {"licenses": {}, "status": "deletion-scheduled", "deletion_scheduled_on": "2026-11-13"},  # stopped on D+5
])
def test_deletion_revert_a_stopped_pbx_needs_the_area_manager(current):
    add = one(scene(current=current), Action.ADD_LICENSES)
    assert add.status is Status.MANUAL and "deletion-revert" in add.rules
    assert "Area Manager" in add.instruction and "2026-11-2" in add.instruction


@pytest.mark.parametrize("current, desired", [
    ({}, INCREASE),                          # active
    (SCHEDULED, {"licenses": {}}),           # scheduled, and left to be deleted
])
def test_deletion_revert_silent(current, desired):
    result = scene(current=current, desired=desired)
    assert not diagnostics(result, "deletion-revert") and not tagged(result, "deletion-revert")


def test_worked_example_004_licenses_removed_from_a_cloud_pbx():
    current = {"licenses": {"basic": 10, "essential": 30, "premium": 5}}
    result = plan([customer_file(pbxes={"acme": {"model": "cloud", "region": "eu-central", "term": "1y",
                                                 "licenses": {}, "allow_deletion": True}})],
                  snapshot({"acme": {"acme": {**CURRENT_PBX, **current}}}), D("2026-11-20"), Policy())
    (found,) = diagnostics(result, "cloud-deletion-schedule")
    assert "stopped on 2026-11-25" in found.message and "deleted on 2026-12-04" in found.message
