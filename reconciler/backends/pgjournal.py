"""The postgres backend's journal and history: runs and step records any runner can read.

The same records as the journal file (reconciler/apply/journal.py), as rows: a run in
`reconciler_runs` (who, where, which lock, which customers, the plan, and once it ends its
outcome, counts and the state it left) and its records in `reconciler_journal`. Each
record is its own transaction (the connection is in autocommit), committed before the
step goes to the portal and right after it answers, so a runner that dies mid-apply
leaves its run visible to every other machine: the next apply touching one of its
customers reports it, with the step in doubt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reconciler.apply.journal import RUN_END, RUN_START, STEP_DONE, STEP_FAILED, STEP_START, UnfinishedRun
from reconciler.backends import ApplyRecord, Held

_RUN = "run, run_user, host, pid, command, started_at, ended_at, plan, outcome, customers, done, failed, skipped"


class PostgresJournal:
    """A JournalWriter on the backend's connection, for the run holding `held`."""

    def __init__(self, backend, held: Held, customers: Sequence[str]):
        self.backend, self.held, self.customers = backend, held, sorted(set(customers))

    def _record(self, run: str, kind: str, **values) -> dict:
        self.backend._sql("INSERT INTO reconciler_journal (run, type, step, token, action, address, error) "
                          "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                          [run, kind, values.get("step"), values.get("token"), values.get("action"),
                           values.get("address"), values.get("error")])
        return {"type": kind, "run": run, **values}

    def run_start(self, run: str, plan: str, token: str, steps: int) -> dict:
        info = self.held.info
        self.backend._sql("INSERT INTO reconciler_runs (run, lock_id, plan, token, steps, customers, run_user, "
                          "host, pid, command) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                          [run, self.held.id, plan, token, steps, self.customers, info.get("user"),
                           info.get("host"), info.get("pid"), info.get("command")])
        return self._record(run, RUN_START, token=token)

    def step_start(self, run: str, step: int, token: str, action: str, address: str) -> dict:
        return self._record(run, STEP_START, step=step, token=token, action=action, address=address)

    def step_done(self, run: str, step: int, token: str, skipped: bool = False) -> dict:
        """A skipped step (its token was carried out before: nothing happened now) says so in `action`."""
        if skipped:
            return self._record(run, STEP_DONE, step=step, token=token, action="skipped")
        return self._record(run, STEP_DONE, step=step, token=token)

    def step_failed(self, run: str, step: int, token: str, error: str) -> dict:
        return self._record(run, STEP_FAILED, step=step, token=token, error=error)

    def run_end(self, run: str, outcome: str) -> dict:
        self.backend._sql("UPDATE reconciler_runs SET ended_at = clock_timestamp(), outcome = %s WHERE run = %s",
                          [outcome, run])
        return self._record(run, RUN_END, outcome=outcome)

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(self, *exc) -> None:
        pass


def _iso(value) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class PostgresJournalMixin:
    """The journal and history half of PostgresBackend (which supplies `_sql`)."""

    def journal(self, held: Held, customers: Sequence[str]) -> PostgresJournal:
        return PostgresJournal(self, held, customers)

    def unfinished_run(self, customers: Sequence[str], held: Held | None = None) -> UnfinishedRun | None:
        """The last run touching these customers, unless it finished or still runs (its lease is live)."""
        row = self._sql(
            "SELECT run, plan, token, started_at, steps, ended_at FROM reconciler_runs r "
            "WHERE customers && %s::text[] AND lock_id <> %s AND NOT EXISTS (SELECT 1 FROM reconciler_leases l "
            "WHERE l.lock_id = r.lock_id AND l.expires_at > now() AND l.lock_id <> %s) "
            "ORDER BY started_at DESC LIMIT 1",
            [sorted(set(customers)), held.id if held else "", held.id if held else ""]).fetchone()
        if row is None or row[5] is not None:  # the last run touching them finished: nothing in doubt
            return None
        run, plan, token, started, steps, _ = row
        records = self._sql("SELECT type, step, action, address, token FROM reconciler_journal WHERE run = %s "
                            "ORDER BY id", [run]).fetchall()
        started_steps: dict[int, dict] = {}
        done, failed = [], []
        for kind, step, action, address, step_token in records:
            if kind == STEP_START:
                started_steps[step] = {"type": kind, "run": run, "step": step, "action": action,
                                       "address": address, "token": step_token}
            elif kind in (STEP_DONE, STEP_FAILED):
                started_steps.pop(step, None)
                (done if kind == STEP_DONE else failed).append(step)
        return UnfinishedRun(run=run, plan=plan, token=token, started_at=_iso(started), steps=steps, done=done,
                             failed=failed, in_doubt=list(started_steps.values()))

    def record(self, held: Held, entry: ApplyRecord) -> None:
        from psycopg.types.json import Jsonb

        self._sql("UPDATE reconciler_runs SET done = %s, failed = %s, skipped = %s, state = %s, "
                  "outcome = coalesce(outcome, %s), ended_at = coalesce(ended_at, clock_timestamp()) WHERE run = %s",
                  [entry.done, entry.failed, entry.skipped, Jsonb(entry.state), entry.outcome, entry.run])

    def history(self, customer: str | None = None, since: str | None = None) -> list[dict]:
        rows = self._sql(f"SELECT {_RUN} FROM reconciler_runs WHERE (%s::text IS NULL OR %s = ANY(customers)) "
                         "AND (%s::date IS NULL OR started_at >= %s::date) ORDER BY started_at, run",
                         [customer, customer, since, since]).fetchall()
        keys = ("run", "user", "host", "pid", "command", "started", "finished", "plan", "outcome", "customers",
                "done", "failed", "skipped")
        return [{key: _iso(value) for key, value in zip(keys, row)} | {"outcome": row[8] or "unfinished"}
                for row in rows]

    def last_states(self, customers: Sequence[str]) -> dict[str, dict]:
        rows = self._sql("SELECT DISTINCT ON (c) c, state -> c FROM reconciler_runs, unnest(customers) AS c "
                         "WHERE c = ANY(%s) AND state ? c ORDER BY c, ended_at DESC",
                         [sorted(set(customers))]).fetchall()
        return {customer: state for customer, state in rows}
