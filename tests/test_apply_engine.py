"""apply_plan: ready steps in plan order, once per token, never blocked/manual/waiting ones, stopping at a failure."""

from __future__ import annotations


import pytest

from reconciler.apply.engine import apply_plan, run_token_for
from reconciler.render.result import render_result
from reconciler.apply.journal import read_journal, unfinished_run
from reconciler.apply.lock import LockHeld, acquire, lock_path
from reconciler.apply.run import apply_saved
from reconciler.apply.verify import PlanAltered, StalePlan
from tests.test_apply_support import DESIRED, TODAY, FakePortal, document, mixed_steps, snapshot

REFUSAL = "UC-PREMIUM cannot go below 4 before 2026-12-01"

class Killed(BaseException):
    """The process "died" at the crash point: nothing after it runs or is journaled."""


def dies_at(moment: str, index: int):
    """A crash point (apply.engine) that stops apply dead `before` step `index` reaches the portal, or `after`."""
    def crash_point(when: str, step) -> None:
        if step.id == index and when == moment:
            raise Killed

    return crash_point


@pytest.fixture
def portal(tmp_path):
    return FakePortal(snapshot(), tmp_path / "sandbox.db")


def run(portal, steps=None, token="tok", journal=None):
    return apply_plan(document(steps or mixed_steps()), portal, TODAY, journal or f"{portal.target}.journal",
                      run_token=token)


def test_ready_steps_run_in_plan_order_and_blocked_manual_and_waiting_ones_never(portal):
    result = run(portal)
    assert portal.calls == [(1, "tok:1"), (5, "tok:5"), (6, "tok:6")]
    assert [o.step.id for o in result.done] == [1, 5, 6]
    assert [(o.step.id, o.reason) for o in result.not_run] == [(3, "waits for step 2")]
    assert [(o.step.id, str(o.step.not_before)) for o in result.blocked] == [(2, "2026-12-01")]
    assert [(o.step.id, o.reason) for o in result.manual] == [
        (4, "ask Customer Care to move the PBX to region us-east")]
    assert result.ok and [o.step.id for o in result.outcomes] == [1, 2, 3, 4, 5, 6]
    pbx = portal.snapshot.customers["acme"].pbxes["acme"]
    assert (pbx.licenses.essential, pbx.licenses.premium, pbx.storage_gb, pbx.term) == (32, 3, 60, "1y")
    assert render_result(result) == """\
  1 + add-licenses acme/acme: done
  5 - remove-licenses acme/acme: done
  6 ~ set-options acme/acme: done

Apply complete: 3 done, 1 blocked until 2026-12-01, 1 manual, 1 waiting.

Blocked:
  2 ~ change-term acme/acme: not before 2026-12-01 (a term change waits for the last day of the month)

Manual:
  4 ~ set-options acme/acme: ask Customer Care to move the PBX to region us-east

Waiting:
  3 + add-licenses acme/acme: waits for step 2
"""


def test_the_order_is_the_plans_even_when_ids_are_not_sorted(portal):
    steps = mixed_steps()
    reordered = [steps[5], steps[0], steps[4]]
    run(portal, reordered)
    assert [step for step, _ in portal.calls] == [6, 1, 5]


def test_the_first_failure_stops_the_run(portal):
    portal.refuse = {5: REFUSAL}
    result = run(portal)
    assert portal.executed == [1]
    assert (result.failed.step.id, result.failed.reason) == (5, REFUSAL)
    assert [(o.step.id, o.reason) for o in result.not_run] == [(3, "waits for step 2"),
                                                                 (6, "apply stopped at step 5")]
    assert not result.ok
    text = render_result(result)
    assert text.startswith("""\
  1 + add-licenses acme/acme: done
  5 - remove-licenses acme/acme: failed: UC-PREMIUM cannot go below 4 before 2026-12-01

Apply failed at step 5 (remove-licenses acme/acme): UC-PREMIUM cannot go below 4 before 2026-12-01. Done: 1. \
Not run: 3, 6.
""")
    assert text.endswith("""
Not run:
  3 + add-licenses acme/acme: waits for step 2
  6 ~ set-options acme/acme: apply stopped at step 5
""")


def test_a_step_that_needs_a_failed_step_is_not_run(portal):
    steps = mixed_steps()
    steps[5] = {**steps[5], "depends_on": [1]}
    portal.refuse = {1: "no"}
    result = run(portal, [steps[0], steps[5]])
    assert portal.executed == [] and [o.reason for o in result.not_run] == ["apply stopped at step 1"]


def test_the_journal_brackets_every_step(portal, tmp_path):
    portal.refuse = {5: REFUSAL}
    result = run(portal)
    records = read_journal(tmp_path / "sandbox.db.journal").records
    assert [(r["type"], r.get("step")) for r in records] == [
        ("run-start", None), ("step-start", 1), ("step-done", 1), ("step-start", 5), ("step-failed", 5),
        ("run-end", None)]
    assert records[0]["plan"].startswith("sha256:") and records[0]["steps"] == 6 and records[0]["run"] == result.run
    assert records[3]["token"] == "tok:5" and records[3]["address"] == "acme/acme"
    assert records[4]["error"] == REFUSAL and records[5]["outcome"] == "failed"


def test_an_interactive_plan_is_journaled_as_such(portal, tmp_path):
    doc = {key: value for key, value in document(mixed_steps()).items() if key != "checksum"}
    apply_plan(doc, portal, TODAY, tmp_path / "j", run_token=run_token_for(doc))
    assert read_journal(tmp_path / "j").records[0]["plan"] == "interactive"


def test_a_rerun_with_the_same_token_executes_nothing_twice_and_says_skipped(portal):
    run(portal)
    after_first = portal.snapshot
    second = run(portal)
    assert second.ok and second.done == [] and [o.step.id for o in second.skipped] == [1, 5, 6]
    assert len(portal.calls) == 6 and set(portal.executions.values()) == {1}
    assert portal.snapshot == after_first
    text = render_result(second)
    assert "1 + add-licenses acme/acme: skipped (already carried out" in text and ": done" not in text
    assert "Apply complete: 0 done, 3 skipped (already carried out)" in text


def test_every_run_of_the_same_saved_plan_has_new_tokens(portal, tmp_path):
    """A byte-identical plan applied again (a change undone in between) is new work, not 'already applied'."""
    saved = document(mixed_steps())
    first = apply_plan(saved, portal, TODAY, tmp_path / "j", run_token=run_token_for(saved))
    second = apply_plan(saved, portal, TODAY, tmp_path / "j", run_token=run_token_for(saved))
    assert first.run_token != second.run_token
    assert [o.step.id for o in second.done] == [1, 5, 6] and second.skipped == []
    assert portal.executed == [1, 5, 6, 1, 5, 6]
    starts = [r for r in read_journal(tmp_path / "j").records if r["type"] == "run-start"]
    assert [r["token"] for r in starts] == [first.run_token, second.run_token]


@pytest.mark.parametrize("moment, executed_before_rerun", [("before", [1]), ("after", [1, 5])])
def test_a_crash_leaves_the_step_in_doubt_and_a_rerun_finishes_without_repeating(tmp_path, moment,
                                                                                 executed_before_rerun):
    target, state, journal = str(tmp_path / "sandbox.db"), str(tmp_path / "portal.json"), str(tmp_path / "j")
    with pytest.raises(Killed):
        apply_plan(document(mixed_steps()), FakePortal(snapshot(), target, state_file=state), TODAY, journal,
                   run_token="tok", crash_point=dies_at(moment, 5))
    portal = FakePortal(snapshot(), target, state_file=state)
    assert portal.executed == executed_before_rerun
    left = unfinished_run(journal)
    assert left.done == [1] and [r["step"] for r in left.in_doubt] == [5]

    result = run(portal, journal=journal)
    assert result.ok and portal.executed == [1, 5, 6] and set(portal.executions.values()) == {1}
    assert unfinished_run(journal) is None


def test_apply_saved_locks_proves_and_applies(portal, tmp_path):
    saved = document(mixed_steps())
    outcome = apply_saved(saved, portal, today=TODAY, desired_fingerprint=DESIRED)
    assert outcome.result.ok and outcome.resumed is None and portal.executed == [1, 5, 6]
    assert not lock_path(portal.target).exists()
    with pytest.raises(StalePlan, match="acme/acme: licenses.essential 30 -> 32"):
        apply_saved(saved, portal, today=TODAY, desired_fingerprint=DESIRED)  # done: the portal moved on


def test_apply_saved_touches_nothing_when_locked_or_altered(portal, tmp_path):
    saved = document(mixed_steps())
    with acquire(portal.target, "apply"):
        with pytest.raises(LockHeld):
            apply_saved(saved, portal, today=TODAY, desired_fingerprint=DESIRED)
    saved["today"] = "2026-11-19"
    with pytest.raises(PlanAltered):
        apply_saved(saved, portal, today=TODAY, desired_fingerprint=DESIRED)
    assert portal.calls == [] and not (tmp_path / "sandbox.db.journal").exists()


def test_apply_saved_resumes_the_same_plan_after_a_crash(tmp_path):
    target, state = str(tmp_path / "sandbox.db"), str(tmp_path / "portal.json")
    with pytest.raises(Killed):
        apply_saved(document(mixed_steps()), FakePortal(snapshot(), target, state_file=state), today=TODAY,
                    desired_fingerprint=DESIRED, crash_point=dies_at("after", 5))
    portal = FakePortal(snapshot(), target, state_file=state)
    outcome = apply_saved(document(mixed_steps()), portal, today=TODAY, desired_fingerprint=DESIRED)
    assert outcome.result.ok and outcome.resumed is not None and outcome.resumed.done == [1]
    assert portal.executed == [1, 5, 6] and set(portal.executions.values()) == {1}


def test_without_a_crash_point_apply_ignores_the_old_test_variable(portal, monkeypatch):
    """The crash point is injected, never read from the environment: a stray variable changes nothing."""
    monkeypatch.setenv("RECONCILER_TEST_CRASH", "before:1")
    assert run(portal).ok and portal.executed == [1, 5, 6]
