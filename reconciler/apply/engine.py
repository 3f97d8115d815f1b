"""Carry out a plan's ready steps against a provider, in plan order, journaling each one.

The plan decided the order and the status of every step; apply does not second-guess
either (no re-sorting, never a blocked or manual step, never a step whose prerequisite
did not happen in this run). Each step goes to the provider with a token,
`<run_token>:<step id>`, that the provider honours exactly once: re-running the same
saved plan with the same run token skips what is already done, so a run cut short is
resumed, not repeated. The first failure stops the run: later steps were planned on the
assumption that earlier ones happened.

Test hook: `RECONCILER_TEST_CRASH=before:N` or `after:N` makes the process die with
`os._exit(137)` right before step N goes to the provider (its step-start already
journaled) or right after the provider carried it out (its step-done not yet journaled).
It exists for the crash tests only; nothing else may set it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reconciler.apply.journal import Journal
from reconciler.diagnostics import ReconcilerError
from reconciler.plan.model import Status, Step
from reconciler.progress import progress
from reconciler.providers import Executor

CRASH_ENV = "RECONCILER_TEST_CRASH"
INTERACTIVE = "interactive"

Outcome = Literal["done", "failed", "not-run", "blocked", "manual"]


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

    def _with(self, outcome: Outcome) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def done(self) -> list[StepOutcome]:
        return self._with("done")

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
        return self.failed is None


def step_token(run_token: str, step_id: int) -> str:
    return f"{run_token}:{step_id}"


def run_token_for(document: dict) -> str:
    """A saved plan's run token is derived from its checksum (re-runs resume); an interactive run gets a fresh one."""
    checksum = document.get("checksum")
    if isinstance(checksum, str) and checksum:
        return "plan-" + checksum.split(":", 1)[-1][:32]
    return uuid.uuid4().hex


def apply_plan(document: dict, provider: Executor, today: dt.date, journal_path, *, run_token: str) -> ApplyResult:
    """Execute the document's ready steps in order; stop at the first failure. Never raises for a refused step."""
    steps = [Step.model_validate(data) for data in document.get("steps", [])]
    ready = sum(step.status is Status.READY for step in steps)
    journal = journal_path if hasattr(journal_path, "step_start") else Journal(journal_path)  # a backend's writer
    with journal, progress(ready, "applying steps") as advance:
        return _apply_steps(steps, provider, today, journal, run_token, document.get("checksum") or INTERACTIVE,
                            advance)


def _apply_steps(steps: list[Step], provider: Executor, today: dt.date, journal: Journal, run_token: str,
                 plan: str, advance: Callable[[], None]) -> ApplyResult:
    crash = _crash_hook()
    run = uuid.uuid4().hex
    journal.run_start(run, plan, run_token, len(steps))
    done: set[int] = set()
    failed_at: int | None = None
    outcomes: list[StepOutcome] = []
    for step in steps:
        if step.status is Status.BLOCKED:
            outcomes.append(StepOutcome(step, "blocked", step.instruction))
            continue
        if step.status is Status.MANUAL:
            outcomes.append(StepOutcome(step, "manual", step.instruction))
            continue
        if failed_at is not None:
            outcomes.append(StepOutcome(step, "not-run", f"apply stopped at step {failed_at}"))
            continue
        missing = [d for d in step.depends_on if d not in done]
        if missing:
            outcomes.append(StepOutcome(step, "not-run", "waits for " + _steps_phrase(missing)))
            continue
        token = step_token(run_token, step.id)
        journal.step_start(run, step.id, token, step.action.value, step.address)
        if crash == ("before", step.id):
            os._exit(137)
        try:
            provider.execute(step, today, token)
        except ReconcilerError as exc:  # StepRefused, or the provider could not reach the portal
            reason = str(exc) or type(exc).__name__
            journal.step_failed(run, step.id, token, reason)
            outcomes.append(StepOutcome(step, "failed", reason))
            failed_at = step.id
            continue
        # Anything else (a bug, Ctrl-C) propagates and leaves the step in doubt in the journal.
        if crash == ("after", step.id):
            os._exit(137)
        journal.step_done(run, step.id, token)
        done.add(step.id)
        outcomes.append(StepOutcome(step, "done"))
        advance()
    journal.run_end(run, "complete" if failed_at is None else "failed")
    return ApplyResult(run, run_token, tuple(outcomes))


def _crash_hook() -> tuple[str, int] | None:
    value = os.environ.get(CRASH_ENV)
    if not value:
        return None
    match = re.fullmatch(r"(before|after):(\d+)", value.strip())
    if not match:
        raise ReconcilerError(f"{CRASH_ENV} (a test hook) must be before:N or after:N, not {value!r}")
    return match.group(1), int(match.group(2))


def _steps_phrase(ids: list[int]) -> str:
    return ("step " if len(ids) == 1 else "steps ") + ", ".join(str(i) for i in ids)


def id_ranges(ids: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"; [] -> "none"."""
    parts: list[str] = []
    ordered = sorted(ids)
    start = prev = None
    for i in ordered + [None]:
        if start is not None and (i is None or i != prev + 1):
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(parts) or "none"


def _head(step: Step) -> str:
    from reconciler.render.common import SYMBOLS

    return f"{step.id:>3} {SYMBOLS.get(step.action.value, '*')} {step.action.value} {step.address}"


def render_result(result: ApplyResult) -> str:
    """What `reconciler apply` prints when the run is over: each step done, the failure, a summary, what waits."""
    lines = [f"{_head(o.step)}: done" for o in result.done]
    failed = result.failed
    if failed:
        lines.append(f"{_head(failed.step)}: failed: {failed.reason}")
        lines.append("")
        lines.append(f"Apply failed at step {failed.step.id} ({failed.step.action.value} {failed.step.address}): "
                     f"{failed.reason.rstrip('.')}. Done: {id_ranges([o.step.id for o in result.done])}. "
                     f"Not run: {id_ranges([o.step.id for o in result.not_run])}.")
    else:
        parts = [f"{len(result.done)} done"]
        if result.blocked:
            parts.append(_blocked_count(result.blocked))
        if result.manual:
            parts.append(f"{len(result.manual)} manual")
        if result.not_run:
            parts.append(f"{len(result.not_run)} waiting")
        lines.append("")
        lines.append(f"Apply complete: {', '.join(parts)}.")
    sections = [("Blocked", result.blocked, _blocked_note), ("Manual", result.manual, _manual_note),
                ("Not run" if failed else "Waiting", result.not_run, lambda o: o.reason or "")]
    for title, items, note in sections:
        if items:
            lines.append("")
            lines.append(f"{title}:")
            lines += [f"{_head(o.step)}: {note(o)}" if note(o) else _head(o.step) for o in items]
    return "\n".join(lines).lstrip("\n") + "\n"


def _blocked_count(blocked: list[StepOutcome]) -> str:
    dates = sorted({o.step.not_before for o in blocked if o.step.not_before})
    text = f"{len(blocked)} blocked"
    if dates:
        text += f" until {dates[0].isoformat()}" + (" or later" if len(dates) > 1 else "")
    return text


def _blocked_note(o: StepOutcome) -> str:
    when = f"not before {o.step.not_before.isoformat()}" if o.step.not_before else "no date yet"
    return when + (f" ({o.step.instruction})" if o.step.instruction else "")


def _manual_note(o: StepOutcome) -> str:
    return o.step.instruction or "needs a person"
