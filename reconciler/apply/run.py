"""apply of a saved plan in one call: lock, read, prove, carry out; the CLI calls only this.

The order matters: the current state is read and the plan proven *under* the lock, so
no other apply can change the portal between the proof and the first step (Terraform
locks the state before it compares). An unfinished run of this same plan in the journal
lets the proof accept the state that run left behind, so re-running the saved plan
after a crash resumes it: it reuses that run's token, so the steps it carried out are
skipped, and reported as skipped; any other change to the portal is still refused.
Every other run of a plan gets a new token. The journal is read only once the lock is
held: only then is an unfinished run one whose process is gone, not one still running.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.apply.engine import ApplyResult, CrashPoint, apply_plan, run_token_for
from reconciler.apply.journal import UnfinishedRun, unfinished_run
from reconciler.apply.proof import check_schema, prove_steps
from reconciler.apply.verify import StalePlan, resume_fingerprints, verify_saved_plan
from reconciler.backends.local import LocalBackend
from reconciler.backends.session import apply_session, touched_customers
from reconciler.fingerprint import fingerprint_state
from reconciler.plan.saved import CHECKSUM, only, recorded_customers
from reconciler.providers import Executor

if TYPE_CHECKING:
    from reconciler.backends import Backend


@dataclass(frozen=True)
class SavedApply:
    result: ApplyResult
    resumed: UnfinishedRun | None  # the unfinished run this apply took over, if the proof needed it


def apply_saved(saved: dict, provider: Executor, *, today: dt.date, desired_fingerprint: str,
                command: str = "apply", lock_timeout: float = 0.0,
                journal: str | os.PathLike | None = None, replan: Callable[[dict], list[dict]] | None = None,
                parallelism: int = 1, backend: Backend | None = None,
                crash_point: CrashPoint | None = None) -> SavedApply:
    """Apply a saved plan (the `plan --out` file's JSON) to `provider`'s portal.

    Raises LockHeld, a PlanRejected (altered, unknown format, other date, stale) or the
    provider's ReconcilerError from `read`; a refused step is not raised, it is in the result.
    An unfinished earlier run is reported by the backend's session, once the lock is ours.
    `replan` plans the file's own inputs again (its recorded state, desired files and date)
    and returns the steps; apply goes on only if they are the file's, field by field
    (proof.PlanForged). `crash_point`: the crash tests' hook (apply.engine).
    """
    check_schema(saved)  # before anything: a malformed file is refused, never a traceback
    backend = backend if backend is not None else LocalBackend(provider.target)
    with apply_session(backend, provider, command, lock_timeout, lambda: touched_customers(saved)) as session:
        path = journal if journal is not None else session.journal
        unfinished = unfinished_run(journal) if journal is not None else session.unfinished
        current = only(provider.read(today), recorded_customers(saved))  # a partial plan: what it recorded
        fingerprint = fingerprint_state(current)
        accept = set()
        if unfinished is not None and fingerprint != (saved.get("fingerprints") or {}).get("current"):
            accept = resume_fingerprints(saved, unfinished)
        try:
            verify_saved_plan(saved, current=current, current_fingerprint=fingerprint,
                              desired_fingerprint=desired_fingerprint, today=today, also_accept=accept)
        except StalePlan as exc:
            if unfinished is None or unfinished.plan != saved.get(CHECKSUM) or type(exc) is not StalePlan:
                raise
            raise StalePlan(f"the plan is stale: an apply of this very plan (run {unfinished.run}) stopped midway, "
                            f"and what it did (steps done: {', '.join(map(str, unfinished.done)) or 'none'}) cannot "
                            "be proven step by step from the portal; nothing was applied: plan again, and apply "
                            "the new plan" + str(exc).split("plan again.", 1)[-1], exc.changes) from None
        if replan is not None:
            prove_steps(saved, replan(saved))
        resuming = unfinished is not None and unfinished.plan == saved.get(CHECKSUM) and unfinished.token
        token = unfinished.token if resuming else run_token_for(saved)
        result = apply_plan(saved, provider, today, path, run_token=token, parallelism=parallelism,
                            crash_point=crash_point)
        session.finish(result, saved, today)
    return SavedApply(result, unfinished if fingerprint in accept else None)
