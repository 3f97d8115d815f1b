"""The `sandbox` provider: the embedded portal in one SQLite file (reconciler.sandbox).

It reads like the real portal (a Snapshot, after the portal's clock has moved to the
given day) and carries out steps like it: exactly once per token, each in one
transaction, refused by the portal's own rules when they say no. `load` and `reset`
are the sandbox's own: they set up the portal a test or a demo starts from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reconciler.plan.model import Step
from reconciler.sandbox import store
from reconciler.sandbox.clock import advance
from reconciler.sandbox.operations import execute
from reconciler.snapshot import Snapshot


class SandboxProvider:
    name = "sandbox"

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def target(self) -> str:
        return str(self.path.resolve())

    def load(self, snapshot: Snapshot) -> None:
        """Replace the whole portal with the snapshot (its catalog, else the built-in one); clears the tokens."""
        self._write(lambda conn: store.write_snapshot(conn, snapshot))

    def reset(self) -> None:
        """The empty portal: no customers, the built-in catalog, no stock, serials from 1."""
        self._write(store.clear)

    def read(self, today: dt.date) -> Snapshot:
        """The portal on `today`, after its clock moved there (deletion schedule, renewals). Never backwards."""
        if not self.path.exists():
            return store.empty_snapshot(today)

        def move_and_read(conn):
            advance(conn, today)
            return store.read_snapshot(conn, today)

        return self._write(move_and_read)

    def execute(self, step: Step, today: dt.date, token: str) -> None:
        """Carry out `step` on `today` once per `token`, in one transaction; StepRefused changes nothing."""
        def run(conn):
            if conn.execute("SELECT 1 FROM applied_tokens WHERE token = ?", (token,)).fetchone():
                return
            advance(conn, today)
            execute(conn, today, step)
            conn.execute("INSERT INTO applied_tokens VALUES (?, ?, ?)",
                         (token, step.model_dump_json(), today.isoformat()))

        self._write(run)

    def _write(self, work):
        conn = store.connect(self.path)
        try:
            with store.transaction(conn):
                return work(conn)
        finally:
            conn.close()
