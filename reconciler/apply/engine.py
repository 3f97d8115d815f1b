"""Carry out a plan's ready steps against a provider, in plan order, journaling each one.

The plan decided the order and the status of every step; apply does not second-guess
either (no re-sorting, never a blocked or manual step, never a step whose prerequisite
did not happen in this run). Each step goes to the provider with a token,
`<run_token>:<step id>`, that the provider honours exactly once. Every run draws a new
run token (a nonce, recorded in the journal's run-start), so a byte-identical plan made
later is carried out again; only resuming that run's own unfinished steps reuses it
(apply.run). A step whose token the portal already carried out is reported as
skipped, never as done. The first failure stops the run: later steps were planned on
the assumption that earlier ones happened.

SIGTERM (CI cancellation, `timeout`) and SIGINT stop the run between two steps: the step
under way finishes (one portal transaction), is journaled, the run ends `interrupted`
and the caller releases the lock and says what was done.

Crash point: `apply_plan(..., crash_point=f)` calls `f("before", step)` right before a step
goes to the provider (its step-start already journaled) and `f("after", step)` right after
the provider carried it out (its step-done not yet journaled). The crash tests inject one
that raises or kills the process there; nothing else passes one, and without it nothing
is called.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from reconciler.apply.journal import Journal
from reconciler.apply.parallel import run_parallel
from reconciler.diagnostics import ReconcilerError
from reconciler.plan.model import Status, Step, parse_step
from reconciler.progress import progress
from reconciler.providers import Executor

INTERACTIVE = "interactive"
CrashPoint = Callable[[str, Step], None]  # ("before" | "after", the step): the crash tests' hook

Outcome = Literal["done", "skipped", "failed", "not-run", "blocked", "manual"]
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    outcome: Outcome
    reason: str | None = None  # failed: the portal's reason; not-run: why ("waits for step 2")


@dataclass(frozen=True)
class ApplyResult:
    run: str        # this run's id in the journal
    run_token: str
    outcomes: tuple[StepOutcome, ...]  # one per plan step, in plan order
    interrupted: str | None = None  # the signal that stopped the run between two steps ("SIGTERM")

    def _with(self, outcome: Outcome) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def done(self) -> list[StepOutcome]:
        return self._with("done")

    @property
    def skipped(self) -> list[StepOutcome]:
        return self._with("skipped")

    @property
    def failed(self) -> StepOutcome | None:
        failed = self._with("failed")
        return failed[0] if failed else None

    @property
    def not_run(self) -> list[StepOutcome]:
        return self._with("not-run")

    @property
    def blocked(self) -> list[StepOutcome]:
        return self._with("blocked")

    @property
    def manual(self) -> list[StepOutcome]:
        return self._with("manual")

    @property
    def ok(self) -> bool:
        return self.failed is None and self.interrupted is None

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return SIGNAL_EXIT[signal.Signals[self.interrupted]]
        return 0 if self.ok else 1


def step_token(run_token: str, step_id: int) -> str:
    return f"{run_token}:{step_id}"


def run_token_for(document: dict) -> str:
    """A new run's token: a nonce, whatever the plan (a plan byte-identical to an earlier one is new work)."""
    return uuid.uuid4().hex


def apply_plan(document: dict, provider: Executor, today: dt.date, journal_path, *, run_token: str,
               parallelism: int = 1, crash_point: CrashPoint | None = None) -> ApplyResult:
    """Execute the document's ready steps in order; stop at the first failure. Never raises for a refused step.

    With `parallelism` > 1 and a provider that takes concurrent steps, independent steps run at once
    (reconciler.apply.parallel); the order within each customer stays the plan's.
    """
    try:
        steps = [parse_step(data) for data in document.get("steps", [])]
    except (ValidationError, TypeError) as exc:  # a malformed step: refused before any runs, never a traceback
        raise ReconcilerError(f"the plan's steps are not valid, nothing was applied ({exc}); plan again") from None
    ready = sum(step.status is Status.READY for step in steps)
    if not getattr(provider, "concurrent", False):
        parallelism = 1
    journal = journal_path if hasattr(journal_path, "step_start") else Journal(journal_path)  # a backend's writer
    session = getattr(provider, "session", nullcontext)  # the sandbox: one connection to its file for the run
    with journal, session(), progress(ready, "applying steps") as advance, stop_signals() as stop:
        return _apply_steps(steps, provider, today, journal, run_token, document.get("checksum") or INTERACTIVE,
                            advance, stop, parallelism, crash_point)


@contextmanager
def stop_signals() -> Iterator[list[str]]:
    """While the block runs, SIGTERM and SIGINT only ask it to stop (the list gets the signal's name)."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def ask(signum, frame):
        received.append(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, ask) for signum in SIGNAL_EXIT}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _apply_steps(steps: list[Step], provider: Executor, today: dt.date, journal: Journal, run_token: str,
                 plan: str, advance: Callable[[], None], stop: list[str] | None = None,
                 parallelism: int = 1, crash_point: CrashPoint | None = None) -> ApplyResult:
    stop = stop if stop is not None else []
    run = uuid.uuid4().hex
    journal.run_start(run, plan, run_token, len(steps))

    def carry_out(step: Step) -> StepOutcome:
        token = step_token(run_token, step.id)
        journal.step_start(run, step.id, token, step.action.value, step.address)
        if crash_point is not None:
            crash_point("before", step)
        try:
            carried_out = provider.execute(step, today, token)
        except ReconcilerError as exc:  # StepRefused, or the provider could not reach the portal
            reason = str(exc) or type(exc).__name__
            journal.step_failed(run, step.id, token, reason)
            return StepOutcome(step, "failed", reason)
        # Anything else (a bug, Ctrl-C) propagates and leaves the step in doubt in the journal.
        if crash_point is not None:
            crash_point("after", step)
        skipped = carried_out is False  # the token was already carried out: nothing happened now
        journal.step_done(run, step.id, token, skipped=skipped)
        advance()
        return (StepOutcome(step, "skipped", "already carried out by this run before it stopped")
                if skipped else StepOutcome(step, "done"))

    def why_not(step: Step, done: set[int], failed_at: int | None) -> StepOutcome | None:
        return not_carried_out(step, done, failed_at, stop)

    if parallelism > 1:
        outcomes = run_parallel(steps, carry_out, why_not, parallelism)
    else:
        outcomes = _run_in_order(steps, carry_out, why_not)
    failed = any(o.outcome == "failed" for o in outcomes)
    interrupted = stop[0] if stop and not failed else None
    journal.run_end(run, "failed" if failed else "interrupted" if interrupted else "complete")
    return ApplyResult(run, run_token, tuple(outcomes), interrupted)


def _run_in_order(steps: list[Step], carry_out: Callable[[Step], StepOutcome], why_not) -> list[StepOutcome]:
    done: set[int] = set()
    failed_at: int | None = None
    outcomes: list[StepOutcome] = []
    for step in steps:
        outcome = why_not(step, done, failed_at) or carry_out(step)
        outcomes.append(outcome)
        if outcome.outcome == "failed":
            failed_at = step.id
        elif outcome.outcome in ("done", "skipped"):
            done.add(step.id)
    return outcomes


def not_carried_out(step: Step, done: set[int], failed_at: int | None, stop: list[str]) -> StepOutcome | None:
    """Why `step` is not carried out (blocked, manual, the run failed or was stopped, a prerequisite
    not done), or None."""
    if step.status is Status.BLOCKED:
        return StepOutcome(step, "blocked", step.instruction)
    if step.status is Status.MANUAL:
        return StepOutcome(step, "manual", step.instruction)
    if failed_at is not None:
        return StepOutcome(step, "not-run", f"apply stopped at step {failed_at}")
    if stop:
        return StepOutcome(step, "not-run", f"apply was stopped by {stop[0]}")
    missing = [d for d in step.depends_on if d not in done]
    if missing:
        return StepOutcome(step, "not-run", "waits for " + _steps_phrase(missing))
    return None


def _steps_phrase(ids: list[int]) -> str:
    return ("step " if len(ids) == 1 else "steps ") + ", ".join(str(i) for i in ids)
