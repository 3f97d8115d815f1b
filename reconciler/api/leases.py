"""The served portal's own records: lock leases over customers, and idempotency keys.

They live in a small SQLite file beside the sandbox (`<sandbox>.portal`), not in the
sandbox itself: the sandbox stays the portal's data, this file is the API's bookkeeping.

A lease covers a set of customers, all or nothing: it is refused while another live
lease covers any of them, so the many per-customer repos of one partner apply at once
while two runs touching one customer exclude each other. A lease not renewed before it
expires stops covering anything; the next lease over its customers reports it once (a
run that may have died mid-apply).

An idempotency record keeps a step's key, the digest of its request and its answer:
the same key again is answered from the record, the same key with another request is
refused. The sandbox's own tokens make the step itself exactly-once, so a crash between
the sandbox's commit and this record only means the retry is carried out as a no-op.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from pathlib import Path

from reconciler.api.contract import Lease, LeaseGranted, LeaseRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, owner TEXT NOT NULL, operation TEXT NOT NULL,
                                   customers TEXT NOT NULL, created TEXT NOT NULL, expires TEXT NOT NULL,
                                   state TEXT NOT NULL DEFAULT 'held');  -- held, released, reported
CREATE TABLE IF NOT EXISTS lease_customers (customer TEXT NOT NULL, lease TEXT NOT NULL REFERENCES leases(id),
                                            PRIMARY KEY (customer, lease));
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, digest TEXT NOT NULL, answer TEXT NOT NULL,
                                        created TEXT NOT NULL);
"""


class LeaseConflict(Exception):
    def __init__(self, lease: Lease):
        super().__init__(lease.id)
        self.lease = lease


class LeaseGone(Exception):
    """The lease was released or expired: it can no longer be renewed."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class Records:
    def __init__(self, path: Path):
        self.path = Path(path)  # the file is made on first use
        self._local = threading.local()  # one connection per server thread, kept

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")  # one fsync per durable commit, readers never wait
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    def _write(self, work, durable: bool = True):
        """Run `work` in one write transaction; durable: on disk when it returns (FULL), else at the next sync."""
        conn = self._connect()
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def take(self, request: LeaseRequest, now: dt.datetime | None = None) -> LeaseGranted:
        """A new lease over `request.customers`, or LeaseConflict naming the live lease in the way."""
        now = now or utcnow()
        customers = sorted(set(request.customers))

        def work(conn):
            marks = ",".join("?" * len(customers))
            rows = conn.execute(f"SELECT DISTINCT l.* FROM leases l JOIN lease_customers c ON c.lease = l.id "
                                f"WHERE c.customer IN ({marks}) AND l.state = 'held' ORDER BY l.created",
                                customers).fetchall()
            live = [row for row in rows if row["expires"] > _iso(now)]
            if live:
                raise LeaseConflict(_lease(live[0]))
            expired = [_lease(row) for row in rows]
            conn.executemany("UPDATE leases SET state = 'reported' WHERE id = ?", [(e.id,) for e in expired])
            lease = Lease(id=uuid.uuid4().hex, owner=request.owner, operation=request.operation,
                          customers=customers, created=now,
                          expires=now + dt.timedelta(seconds=request.ttl_seconds))
            conn.execute("INSERT INTO leases (id, owner, operation, customers, created, expires) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (lease.id, lease.owner, lease.operation,
                                                       json.dumps(customers), _iso(now), _iso(lease.expires)))
            conn.executemany("INSERT INTO lease_customers VALUES (?, ?)", [(c, lease.id) for c in customers])
            return LeaseGranted(lease=lease, expired=expired)

        return self._write(work)

    def renew(self, lease_id: str, ttl_seconds: float, now: dt.datetime | None = None) -> Lease:
        now = now or utcnow()

        def work(conn):
            row = conn.execute("SELECT * FROM leases WHERE id = ?", (lease_id,)).fetchone()
            if row is None or row["state"] != "held" or row["expires"] <= _iso(now):
                raise LeaseGone(lease_id)
            expires = _iso(now + dt.timedelta(seconds=ttl_seconds))
            conn.execute("UPDATE leases SET expires = ? WHERE id = ?", (expires, lease_id))
            return _lease(conn.execute("SELECT * FROM leases WHERE id = ?", (lease_id,)).fetchone())

        return self._write(work)

    def release(self, lease_id: str) -> None:
        def work(conn):
            row = conn.execute("SELECT state FROM leases WHERE id = ?", (lease_id,)).fetchone()
            if row is None:
                raise LeaseGone(lease_id)
            conn.execute("UPDATE leases SET state = 'released' WHERE id = ? AND state = 'held'", (lease_id,))

        self._write(work)

    def answer(self, key: str) -> tuple[str, str] | None:
        """(digest, answer) recorded for `key`, or None."""
        row = self._connect().execute("SELECT digest, answer FROM idempotency WHERE key = ?", (key,)).fetchone()
        return (row["digest"], row["answer"]) if row else None

    def record(self, key: str, digest: str, answer: str) -> None:
        """Not synced at once: a record lost to a power cut only makes the retry a no-op by the sandbox's token."""
        self._write(lambda conn: conn.execute("INSERT OR IGNORE INTO idempotency VALUES (?, ?, ?, ?)",
                                              (key, digest, answer, _iso(utcnow()))), durable=False)


def _lease(row: sqlite3.Row) -> Lease:
    return Lease(id=row["id"], owner=row["owner"], operation=row["operation"],
                 customers=json.loads(row["customers"]), created=dt.datetime.fromisoformat(row["created"]),
                 expires=dt.datetime.fromisoformat(row["expires"]))
