"""`apply PLAN --replan`: a reviewed plan that no longer holds as saved still lands, if nothing it does changed.

A saved plan is bound to its date and to the portal state it was made from, which is
right: calendar rules judge differently on another day, and a portal that moved may need
other steps. But a pull request merged the day after its plan, or after another merge was
applied first, would then never land without a person re-planning it. With --replan,
apply plans again on today, under the lock, from the same files the saved plan covered
(the whole repo, or a partial plan's own files), and carries the new plan out only when
its steps are the reviewed ones: the same customer, PBX, action, changes, status and date
for each, in the same order (ids, costs and notes aside: a prorated charge moves with the
date). Otherwise it refuses and prints the difference, and the change goes back to review.
An altered plan file is never re-planned.
"""

from __future__ import annotations

import difflib
import json
import sys

from reconciler.apply.engine import apply_plan, run_token_for
from reconciler.apply.verify import PlanAltered, PlanFormatUnknown, PlanRejected
from reconciler.backends.session import apply_session, touched_customers
from reconciler.diagnostics import ReconcilerError
from reconciler.fingerprint import canonical
from reconciler.render.common import changes
from reconciler.render.result import render_result
from reconciler.workflow import PlanRequest, make_plan

COMPARED = ("customer", "pbx", "action", "changes", "status", "not_before")


class ReplanDiffers(PlanRejected):
    """Today's plan is not the reviewed one: the difference, for the change to go back to review.

    The rule is `plan-date-bound` for a plan of another day (RULES.md: `apply --replan` applies
    only if the re-plan gives the same steps), `stale-plan` for one of today whose portal moved.
    """

    def __init__(self, message: str, same_day: bool):
        super().__init__(message)
        self.rule = "stale-plan" if same_day else "plan-date-bound"


def step_line(step: dict) -> str:
    """One step as a reviewer compares it, without its id: `acme/acme remove-licenses essential 30 -> 20 [ready]`."""
    where = f"{step['customer']}/{step['pbx']}" if step.get("pbx") else step["customer"]
    status = step["status"] + (f" until {step['not_before']}" if step.get("not_before") else "")
    return f"{where} {step['action']} {changes(step)} [{status}]"


def same_steps(reviewed: list[dict], today: list[dict]) -> bool:
    """The same steps in the same order, compared as JSON (a saved plan's keys are sorted, a fresh one's not)."""
    def key(step: dict) -> str:
        return canonical({name: step.get(name) for name in COMPARED})

    return [key(s) for s in reviewed] == [key(s) for s in today]


def difference(reviewed: list[dict], today: list[dict], made_for: str, now: str) -> str:
    """A unified diff of the two plans' steps, one line each; keys sorted alike, so only real changes show."""
    def lines_of(steps: list[dict]) -> list[str]:
        return [step_line(json.loads(canonical(step))) for step in steps]

    lines = difflib.unified_diff(lines_of(reviewed), lines_of(today),
                                 fromfile=f"reviewed plan ({made_for})", tofile=f"plan of today ({now})",
                                 lineterm="", n=1)
    return "\n".join(lines)


def apply_replanned(saved: dict, provider, backend, *, today, paths: list[str], settings_root: str,
                    lock_timeout: float, parallelism: int, apply_saved_plan) -> int:
    """Apply the saved plan as it is if it still holds; else re-plan today and apply only identical steps.

    `apply_saved_plan()` is apply's own path for a saved plan (it raises PlanRejected when the
    plan no longer holds); it is tried first, so a plan that holds is applied exactly as saved.
    `paths` are what the saved plan covered (its own customer files, or the repo).
    """
    try:
        return apply_saved_plan()
    except (PlanAltered, PlanFormatUnknown):
        raise
    except PlanRejected as exc:
        print(f"note: the saved plan does not hold as it is ({exc.args[0].splitlines()[0]}); "
              f"--replan: planning again on {today.isoformat()}", file=sys.stderr)
    request = PlanRequest(paths=paths, today=today.isoformat(), settings_root=settings_root)
    with apply_session(backend, provider, "apply", lock_timeout,
                       lambda: touched_customers(saved, touched_customers(make_plan(request, provider=provider)
                                                                          .document))) as session:
        planned = make_plan(request, provider=provider)
        session.check(planned.document)
        if planned.has_errors:
            raise ReconcilerError("--replan: today's plan has errors; nothing was applied")
        document = planned.document
        reviewed = saved.get("steps") or []
        if not same_steps(reviewed, document["steps"]):
            raise ReplanDiffers(
                f"--replan: today's plan differs from the reviewed one, so nothing was applied; the change "
                f"goes back to review (plan it again in its pull request):\n"
                f"{difference(reviewed, document['steps'], str(saved.get('today')), today.isoformat())}",
                same_day=str(saved.get("today")) == today.isoformat())
        print(f"--replan: today's plan has the reviewed steps ({len(reviewed)}): applying it", file=sys.stderr)
        result = apply_plan(document, provider, today, session.journal, run_token=run_token_for(document),
                            parallelism=parallelism)
        session.finish(result, document, today)
    print(render_result(result))
    return result.exit_code
