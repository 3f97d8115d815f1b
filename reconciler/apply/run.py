"""apply of a saved plan in one call: lock, read, prove, carry out; the CLI calls only this.

The order matters: the current state is read and the plan proven *under* the lock, so
no other apply can change the portal between the proof and the first step (Terraform
locks the state before it compares). An unfinished run of this same plan in the journal
lets the proof accept the state that run left behind, so re-running the saved plan
after a crash resumes it (done steps are no-ops by token) instead of being refused as
stale; any other change to the portal is still refused.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.apply.engine import ApplyResult, apply_plan, run_token_for
from reconciler.apply.journal import UnfinishedRun, unfinished_run
from reconciler.apply.verify import resume_fingerprints, verify_saved_plan
from reconciler.providers import Executor

if TYPE_CHECKING:
    from reconciler.backends import Backend


@dataclass(frozen=True)
class SavedApply:
    result: ApplyResult
    resumed: UnfinishedRun | None  # the unfinished run this apply took over, if the proof needed it


def apply_saved(saved: dict, provider: Executor, *, today: dt.date, desired_fingerprint: str,
                command: str = "apply", lock_timeout: float = 0.0,
                journal: str | os.PathLike | None = None, backend: Backend | None = None) -> SavedApply:
    """Apply a saved plan (the `plan --out` file's JSON) to `provider`'s portal.

    Raises LockHeld, a PlanRejected (altered, unknown format, other date, stale) or the
    provider's ReconcilerError from `read`; a refused step is not raised, it is in the result.
    """
    from reconciler.backends.local import LocalBackend
    from reconciler.backends.session import apply_session, touched_customers
    from reconciler.workflow import fingerprint_state

    backend = backend if backend is not None else LocalBackend(provider.target)
    with apply_session(backend, provider, command, lock_timeout, lambda: touched_customers(saved)) as session:
        path = journal if journal is not None else session.journal
        current = provider.read(today)
        fingerprint = fingerprint_state(current)
        unfinished = unfinished_run(journal) if journal is not None else session.unfinished
        accept = set()
        if unfinished is not None and fingerprint != (saved.get("fingerprints") or {}).get("current"):
            accept = resume_fingerprints(saved, unfinished)
        verify_saved_plan(saved, current=current, current_fingerprint=fingerprint,
                          desired_fingerprint=desired_fingerprint, today=today, also_accept=accept)
        result = apply_plan(saved, provider, today, path, run_token=run_token_for(saved))
        session.finish(result, saved, today)
    return SavedApply(result, unfinished if fingerprint in accept else None)
