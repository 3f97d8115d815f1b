"""The `sandbox` provider: the embedded portal in one SQLite file (reconciler.sandbox).

It reads like the real portal and carries out steps like it: exactly once per token,
each in one transaction, refused by the portal's own rules when they say no.

Reads are read-only: the file is opened with SQLite's mode=ro, copied into memory, and
what the portal holds on the given day (its renewals and deletion schedule, seed 004)
is worked out on the copy; nothing is committed, so a what-if plan on a later date
changes nothing. Only a step (`execute`), `advance`, `load` and `reset` move the file.

A sandbox that was in use (its journal exists) and whose file is now missing, empty
or damaged stops every command (store.SandboxDamaged), never reads as an empty portal
that apply would fill again. `load` and `reset` are the way back: they build the new
portal in a file of their own and move it into place, whatever the old file held.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.apply.journal import Journal, journal_path
from reconciler.plan.model import Step
from reconciler.sandbox import store
from reconciler.sandbox.clock import advance
from reconciler.sandbox.operations import execute
from reconciler.snapshot import Snapshot

FIRST_USE = ("note: the sandbox {path} does not exist yet, so it reads as an empty portal; fill it with "
             "`reconciler sandbox load STATE.yaml` (apply creates it otherwise)")


class SandboxProvider:
    name = "sandbox"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._session: tuple[int, sqlite3.Connection] | None = None  # (thread, connection) of `session()`

    @contextmanager
    def session(self) -> Iterator[None]:
        """Steps carried out in the block share one connection to the file, in WAL mode (store.begin_session).

        Each step is still its own durable transaction; what the block saves is opening and
        checking the file per step and the rollback journal's extra syncs. Steps from another
        thread (the HTTP server's) open their own connection, as outside a session.
        """
        conn = store.connect(self.path, create=not self.was_used())
        try:
            store.begin_session(conn)
        except BaseException:
            conn.close()
            raise
        self._session = (threading.get_ident(), conn)
        try:
            yield
        finally:
            self._session = None
            store.end_session(conn)

    @property
    def target(self) -> str:
        return str(self.path.resolve())

    def was_used(self) -> bool:
        """The sandbox has a history (a journal, written by apply, load and reset): its file must be there."""
        return journal_path(self.target).exists()

    def load(self, snapshot: Snapshot) -> None:
        """Replace the whole portal with the snapshot (its catalog, else the built-in one); clears the tokens."""
        self._replace(lambda conn: store.write_snapshot(conn, snapshot), "sandbox-load")

    def reset(self) -> None:
        """The empty portal: no customers, the built-in catalog, no stock, serials from 1."""
        self._replace(lambda conn: None, "sandbox-reset")

    def read(self, today: dt.date) -> Snapshot:
        """The portal on `today` (deletion schedule, renewals worked out in memory). The file is not written."""
        if not self.path.exists() and not self.was_used():
            print(FIRST_USE.format(path=self.path), file=sys.stderr)
            return store.empty_snapshot(today)
        conn = store.connect(self.path, readonly=True)
        try:
            memory = sqlite3.connect(":memory:", isolation_level=None)
            conn.backup(memory)
        finally:
            conn.close()
        memory.row_factory = sqlite3.Row
        try:
            with store.transaction(memory):
                advance(memory, today)
                return store.read_snapshot(memory, today, self.path)
        finally:
            memory.close()

    def advance(self, today: dt.date) -> None:
        """Move the portal's clock to `today` for good: renewals and deletions happen in the file."""
        self._write(lambda conn: advance(conn, today))

    def execute(self, step: Step, today: dt.date, token: str) -> bool:
        """Carry out `step` on `today` once per `token`, in one transaction; StepRefused changes nothing.

        Returns False when the token was already carried out (nothing happened now), else True.
        """
        def run(conn):
            if conn.execute("SELECT 1 FROM applied_tokens WHERE token = ?", (token,)).fetchone():
                return False
            advance(conn, today)
            execute(conn, today, step)
            conn.execute("INSERT INTO applied_tokens VALUES (?, ?, ?)",
                         (token, step.model_dump_json(), today.isoformat()))
            return True

        return self._write(run)

    def _write(self, work):
        if self._session is not None and self._session[0] == threading.get_ident():
            with store.transaction(self._session[1]):
                return work(self._session[1])
        conn = store.connect(self.path, create=not self.was_used())
        try:
            with store.transaction(conn):
                return work(conn)
        finally:
            store.end_session(conn)  # a file a killed session left in WAL mode goes back to rest

    def _replace(self, fill, event: str) -> None:
        """A new portal file, made beside the old one and moved over it (atomic: a reader sees one or the other)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_name(f"{self.path.name}.new")
        fresh.unlink(missing_ok=True)
        conn = store.connect(fresh, create=True)
        try:
            with store.transaction(conn):
                fill(conn)
        finally:
            conn.close()
        os.replace(fresh, self.path)
        for leftover in ("-journal", "-wal", "-shm"):  # the journal or WAL of the file replaced (a crashed run's)
            Path(f"{self.path}{leftover}").unlink(missing_ok=True)
        with Journal(journal_path(self.target)) as journal:
            journal.append({"type": event})
