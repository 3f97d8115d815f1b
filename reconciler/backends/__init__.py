"""Backends: where apply's locks, its journal and the history of applies live.

Terraform keeps state and its lock in a backend so that many machines share them; we do
the same for what apply needs to be safe across machines: the lock (so two runs never
change the same customer at once), the journal (so a run cut short on a dead CI runner is
still seen by the next one) and the history (who applied what, and the state each apply
left, from which `plan` reports drift).

- `local` (the default): today's files beside the provider's target, one lock for the
  whole portal (reconciler/apply/lock.py, reconciler/apply/journal.py), plus a history file.
- `postgres`: one database shared by every runner, one lease per customer.

Both offer the operations of `Backend`, with the same meaning, and pass one test suite.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from reconciler.config import Config
from reconciler.diagnostics import ReconcilerError

if TYPE_CHECKING:  # an annotation only: importing apply here would put all of apply on every plan's start-up
    from reconciler.apply.journal import UnfinishedRun


class BackendError(ReconcilerError):
    """The backend cannot be reached or used; the message never holds its connection string."""


class Held(Protocol):
    """A held lock: its ID (what force-unlock takes), who holds it, and release()."""

    info: dict

    @property
    def id(self) -> str: ...

    def release(self) -> None: ...

    def __enter__(self) -> Held: ...

    def __exit__(self, *exc) -> None: ...


class JournalWriter(Protocol):
    """The apply journal's records (reconciler/apply/journal.py), each durable when the call returns."""

    def run_start(self, run: str, plan: str, token: str, steps: int) -> dict: ...

    def step_start(self, run: str, step: int, token: str, action: str, address: str) -> dict: ...

    def step_done(self, run: str, step: int, token: str, skipped: bool = False) -> dict: ...

    def step_failed(self, run: str, step: int, token: str, error: str) -> dict: ...

    def run_end(self, run: str, outcome: str) -> dict: ...

    def __enter__(self) -> JournalWriter: ...

    def __exit__(self, *exc) -> None: ...


@dataclass(frozen=True)
class ApplyRecord:
    """One finished apply, as history lists it; `state` is what the portal held after it, per customer."""

    run: str
    plan: str
    outcome: str  # complete | failed
    customers: list[str]
    done: int
    failed: int
    skipped: int
    state: dict[str, dict] = field(default_factory=dict)


class Backend(Protocol):
    name: str
    per_customer: bool  # True: one lock per customer (acquire uses `customers`); False: one for the portal

    def acquire(self, customers: Sequence[str], command: str, timeout: float, *,
                provider: str | None = None) -> Held:
        """Lock these customers (all at once, sorted), waiting up to `timeout` s; raises LockHeld naming the holder."""

    def force_unlock(self, lock_id: str, force: bool = False) -> dict:
        """Break the lock with this ID; a live one only with `force`. Returns what it held."""

    def journal(self, held: Held, customers: Sequence[str]) -> JournalWriter:
        """The journal a run holding `held` writes to."""

    def unfinished_run(self, customers: Sequence[str], held: Held | None = None) -> UnfinishedRun | None:
        """The last run touching these customers that stopped mid-apply (not the one holding `held`)."""

    def record(self, held: Held, entry: ApplyRecord) -> None:
        """Add a finished apply to the history."""

    def history(self, customer: str | None = None, since: str | None = None) -> list[dict]:
        """Past applies, oldest first: run, user, host, pid, command, started, finished, plan, outcome,
        customers, done, failed, skipped."""

    def last_states(self, customers: Sequence[str]) -> dict[str, dict]:
        """Per customer, the portal's state as the last apply that touched it left it."""

    def close(self) -> None: ...


def backend_for(config: Config, target: str | os.PathLike) -> Backend:
    """The configured backend; `target` is the provider's (the local backend's files sit beside it)."""
    if config.backend.kind == "postgres":
        from reconciler.backends.postgres import PostgresBackend

        return PostgresBackend.from_env(config.backend.dsn_env, lease_seconds=config.backend.lease_seconds)
    from reconciler.backends.local import LocalBackend

    return LocalBackend(target)
