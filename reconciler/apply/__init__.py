"""apply: carry out a plan against a provider, the way Terraform's apply does (STYLE.md practice 9).

- `lock`: one apply per portal at a time (`<target>.lock`), who/when/what, stale locks reported.
- `journal`: a durable line per step start/end (`<target>.journal`); an unfinished run is detected.
- `verify`: a saved plan is refused when altered, of an unknown format, made for another
  date, or stale (desired files or portal changed: the portal's changes listed field by field).
- `engine`: ready steps in plan order, once per token, stopping at the first failure.
- `run`: the saved-plan apply in one call (lock, read, verify, apply).
"""

from reconciler.apply.engine import ApplyResult, StepOutcome, apply_plan, run_token_for, step_token
from reconciler.apply.journal import Journal, UnfinishedRun, journal_path, read_journal, unfinished_run
from reconciler.apply.lock import Lock, LockError, LockHeld, acquire, force_unlock, lock_path
from reconciler.apply.run import SavedApply, apply_saved
from reconciler.apply.verify import (DesiredChanged, PlanAltered, PlanDateBound, PlanFormatUnknown, PlanRejected,
                                     StalePlan, resume_fingerprints, state_changes, verify_saved_plan)

__all__ = ["ApplyResult", "StepOutcome", "apply_plan", "run_token_for", "step_token",
           "Journal", "UnfinishedRun", "journal_path", "read_journal", "unfinished_run",
           "Lock", "LockError", "LockHeld", "acquire", "force_unlock", "lock_path",
           "SavedApply", "apply_saved",
           "DesiredChanged", "PlanAltered", "PlanDateBound", "PlanFormatUnknown", "PlanRejected", "StalePlan",
           "resume_fingerprints", "state_changes", "verify_saved_plan"]
