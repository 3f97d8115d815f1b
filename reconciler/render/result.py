"""What `reconciler apply` prints when a run is over: each step done or skipped, the failure, a summary, what waits.

A pure function of the engine's ApplyResult, as the plan's renderers are of the plan
document: apply carries steps out and reports what happened; how that reads is here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.render.common import SYMBOLS

if TYPE_CHECKING:
    from reconciler.apply.engine import ApplyResult, StepOutcome
    from reconciler.plan.model import Step


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
    return f"{step.id:>3} {SYMBOLS.get(step.action.value, '*')} {step.action.value} {step.address}"


def render_result(result: ApplyResult) -> str:
    """What `reconciler apply` prints when the run is over: each step done, the failure, a summary, what waits."""
    lines = [f"{_head(o.step)}: {o.outcome}" + (f" ({o.reason})" if o.reason else "")
             for o in result.outcomes if o.outcome in ("done", "skipped")]
    failed = result.failed
    if result.interrupted and not failed:
        lines.append("")
        lines.append(f"Apply stopped by {result.interrupted} between two steps; the lock is released. "
                     f"Done: {id_ranges([o.step.id for o in result.done])}. "
                     f"Not run: {id_ranges([o.step.id for o in result.not_run])}. Plan again to carry on.")
    elif failed:
        lines.append(f"{_head(failed.step)}: failed: {failed.reason}")
        lines.append("")
        lines.append(f"Apply failed at step {failed.step.id} ({failed.step.action.value} {failed.step.address}): "
                     f"{failed.reason.rstrip('.')}. Done: {id_ranges([o.step.id for o in result.done])}. "
                     f"Not run: {id_ranges([o.step.id for o in result.not_run])}.")
    else:
        parts = [f"{len(result.done)} done"]
        if result.skipped:
            parts.append(f"{len(result.skipped)} skipped (already carried out)")
        if result.blocked:
            parts.append(_blocked_count(result.blocked))
        if result.manual:
            parts.append(f"{len(result.manual)} manual")
        if result.not_run:
            parts.append(f"{len(result.not_run)} waiting")
        lines.append("")
        lines.append(f"Apply complete: {', '.join(parts)}.")
    sections = [("Blocked", result.blocked, _blocked_note), ("Manual", result.manual, _manual_note),
                ("Not run" if failed or result.interrupted else "Waiting", result.not_run, lambda o: o.reason or "")]
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
