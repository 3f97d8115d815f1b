"""The local backend: today's lock file and journal file beside the provider's target, and a history file.

Nothing to set up, and exactly today's behaviour: one lock for the whole portal
(`<target>.lock`, reconciler/apply/lock.py) and `<target>.journal`
(reconciler/apply/journal.py), which this module calls and never re-implements. The
history is one more JSON-lines file, `<target>.history`, appended (and fsync'd) by the
journal's own writer: one record per finished apply, with the state it left.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.apply import lock as lockfile
from reconciler.apply.journal import Journal, UnfinishedRun, journal_path, read_journal, unfinished_run
from reconciler.backends import ApplyRecord, Held

APPLY = "apply"  # the history file's record type


def history_path(target: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(target)}.history")


class LocalBackend:
    name = "local"
    per_customer = False

    def __init__(self, target: str | os.PathLike):
        self.target = target

    def acquire(self, customers: Sequence[str], command: str, timeout: float, *,
                provider: str | None = None) -> lockfile.Lock:
        return lockfile.acquire(self.target, command, timeout, provider=provider)

    def force_unlock(self, lock_id: str, force: bool = False) -> dict:
        return lockfile.force_unlock(self.target, lock_id, force)

    def journal(self, held: Held, customers: Sequence[str]) -> Journal:
        return Journal(journal_path(self.target))

    def unfinished_run(self, customers: Sequence[str], held: Held | None = None) -> UnfinishedRun | None:
        return unfinished_run(journal_path(self.target))

    def record(self, held: Held, entry: ApplyRecord) -> None:
        info = getattr(held, "info", None) or {}  # a portal's lease carries no local owner
        with Journal(history_path(self.target)) as history:
            history.append({"type": APPLY, "run": entry.run, "user": info.get("user"), "host": info.get("host"),
                            "pid": info.get("pid"), "command": info.get("command"), "started": info.get("since"),
                            "finished": lockfile.now_iso(), "plan": entry.plan, "outcome": entry.outcome,
                            "customers": sorted(entry.customers), "done": entry.done, "failed": entry.failed,
                            "skipped": entry.skipped, "state": entry.state})

    def _applies(self) -> list[dict]:
        return [r for r in read_journal(history_path(self.target)).records if r["type"] == APPLY]

    def history(self, customer: str | None = None, since: str | None = None) -> list[dict]:
        keep = []
        for record in self._applies():
            if customer is not None and customer not in record.get("customers", []):
                continue
            if since is not None and str(record.get("started", ""))[:10] < since:
                continue
            keep.append({key: value for key, value in record.items() if key not in ("type", "state", "at")})
        return keep

    def last_states(self, customers: Sequence[str]) -> dict[str, dict]:
        states: dict[str, dict] = {}
        for record in self._applies():  # oldest first: the last one wins
            for customer, state in (record.get("state") or {}).items():
                if customer in customers:
                    states[customer] = state
        return states

    def close(self) -> None:
        pass
