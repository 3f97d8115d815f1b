"""The postgres backend: per-customer leases in one database that every runner shares.

A lease is a row per customer in `reconciler_leases` (owner: lock ID, user, host, pid,
command, created, expires). Taking the locks of a run is one transaction that inserts the
missing rows and then `SELECT ... FOR UPDATE`s all of the run's rows in sorted order:
PostgreSQL's row locks make the check-and-take atomic, and the fixed order means two runs
never deadlock. We chose rows over advisory locks because a lease must outlive a
connection and be visible: advisory locks vanish when the connection drops (a network
blip would let a second runner in while the first still calls the portal), cannot carry
an owner another runner can read, and cannot be broken by ID from another machine; a row
can, and its expiry (PostgreSQL's clock, one for every runner) bounds how long a dead
runner blocks the others. The holder renews its leases every third of their length.

An expired lease, or one whose holder was a process on this host that is gone, is taken
over and reported with its owner (`Lease.stale`): that run stopped mid-apply, and the
journal says what it left. The connection string comes from an environment variable and
is never printed.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler import __version__
from reconciler.apply.lock import LockError, LockHeld, _dead_here, _user
from reconciler.backends import BackendError
from reconciler.backends.pgjournal import PostgresJournalMixin
from reconciler.backends.pgschema import LATEST, SchemaTooNew, ensure_schema

RETRY_SECONDS = 0.1
CONNECT_TIMEOUT = 5  # seconds: a server that is down is reported, not waited for


def _connect(dsn: str, env: str):
    import psycopg

    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                               application_name="reconciler")
    except psycopg.Error as exc:
        raise unreachable(exc, env, dsn) from None


def unreachable(exc: Exception, env: str, dsn: str = "") -> BackendError:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if dsn:
        text = text.replace(dsn, "$" + env)
    text = re.sub(r"password=\S+", "password=***", text)
    return BackendError(f"the postgres backend (connection string in ${env}) cannot be used: {text}")


_COLUMNS = "customer, lock_id, run_user, host, pid, command, created_at, expires_at, expires_at <= now()"


def _holder(row) -> dict:
    customer, lock_id, user, host, pid, command, created, expires, expired = row
    return {"customer": customer, "id": lock_id, "user": user, "host": host, "pid": pid, "command": command,
            "since": _iso(created), "expires": _iso(expires), "expired": bool(expired)}


def _iso(value) -> str | None:
    return value.astimezone(tz=None).strftime("%Y-%m-%dT%H:%M:%S%z") if value is not None else None


def _who(holder: dict) -> str:
    return (f"by {holder.get('command') or '?'} (pid {holder.get('pid')}, user {holder.get('user')} on host "
            f"{holder.get('host')}) since {holder.get('since')}")


@dataclass
class Lease:
    """The leases of one run (one per customer, one lock ID); renewed in the background until released."""

    backend: PostgresBackend
    customers: list[str]
    info: dict
    stale: list[dict] = field(default_factory=list)  # expired or dead leases this run took over
    released: bool = False
    renew_error: str | None = None

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="reconciler-lease", daemon=True)
        self._thread.start()

    @property
    def id(self) -> str:
        return self.info["id"]

    def _renew(self) -> None:
        every = self.backend.lease_seconds / 3
        conn = None
        while not self._stop.wait(every):
            try:
                conn = conn or _connect(self.backend.dsn, self.backend.env)
                conn.execute("UPDATE reconciler_leases SET expires_at = now() + make_interval(secs => %s) "
                             "WHERE lock_id = %s", [self.backend.lease_seconds, self.id])
                self.renew_error = None
            except Exception as exc:  # the server is away: the next renewal tries again
                self.renew_error = str(exc)
                conn = None
        if conn is not None:
            conn.close()

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self._stop.set()
        self._thread.join(timeout=CONNECT_TIMEOUT + 1)
        try:
            self.backend.conn.execute("DELETE FROM reconciler_leases WHERE lock_id = %s", [self.id])
        except Exception:  # the server is away: the lease expires on its own, or its holder is seen dead here
            pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class PostgresBackend(PostgresJournalMixin):
    name = "postgres"
    per_customer = True

    def __init__(self, dsn: str, env: str = "RECONCILER_BACKEND_DSN", lease_seconds: float = 60):
        self.dsn, self.env, self.lease_seconds = dsn, env, lease_seconds
        self.conn = _connect(dsn, env)
        try:
            ensure_schema(self.conn, __version__)
        except SchemaTooNew as exc:
            self.conn.close()
            raise BackendError(f"the postgres backend's schema is version {exc.found}, newer than this reconciler "
                               f"({__version__}) knows (version {LATEST}): upgrade reconciler; nothing was "
                               "changed") from None
        except Exception as exc:
            self.conn.close()
            raise unreachable(exc, env, dsn) from None

    @classmethod
    def from_env(cls, env: str, lease_seconds: float = 60) -> PostgresBackend:
        dsn = os.environ.get(env, "").strip()
        if not dsn:
            raise BackendError(f"backend kind postgres reads its connection string from ${env}, which is not set "
                               "(set it in the environment, e.g. a CI secret; never in reconciler.yaml)")
        return cls(dsn, env, lease_seconds)

    def _sql(self, query: str, params: Sequence = ()):
        import psycopg

        try:
            return self.conn.execute(query, params)
        except psycopg.Error as exc:
            raise unreachable(exc, self.env, self.dsn) from None

    def acquire(self, customers: Sequence[str], command: str, timeout: float, *,
                provider: str | None = None) -> Lease:
        import psycopg

        wanted = sorted(set(customers))
        info = {"id": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(), "user": _user(),
                "command": command}
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                taken = self._try_take(wanted, info)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.UniqueViolation):
                taken = None  # another run took a row first: look again
            except psycopg.Error as exc:
                raise unreachable(exc, self.env, self.dsn) from None
            if isinstance(taken, Lease):
                return taken
            if taken is not None and time.monotonic() >= deadline:
                message = (f"customer {taken['customer']} is locked {_who(taken)}, until {taken['expires']} "
                           f"unless renewed; lock ID {taken['id']}")
                if timeout > 0:
                    message += f" (waited {timeout:g} s)"
                raise LockHeld(message, taken, False)
            time.sleep(RETRY_SECONDS)

    def _try_take(self, wanted: list[str], info: dict) -> Lease | dict | None:
        """The Lease, or the first live holder in the way (a dict)."""
        with self.conn.transaction():
            self.conn.execute("INSERT INTO reconciler_leases (customer) SELECT c FROM unnest(%s::text[]) AS c "
                              "ORDER BY c ON CONFLICT DO NOTHING", [wanted])
            rows = self.conn.execute(f"SELECT {_COLUMNS} FROM reconciler_leases WHERE customer = ANY(%s) "
                                     "ORDER BY customer FOR UPDATE", [wanted]).fetchall()
            holders = [_holder(row) for row in rows if row[1] is not None]
            for holder in holders:
                if not holder["expired"] and not _dead_here(holder):
                    return holder
            created = self.conn.execute(
                "UPDATE reconciler_leases SET lock_id = %s, run_user = %s, host = %s, pid = %s, command = %s, "
                "created_at = now(), expires_at = now() + make_interval(secs => %s) WHERE customer = ANY(%s) "
                "RETURNING created_at",
                [info["id"], info["user"], info["host"], info["pid"], info["command"], self.lease_seconds,
                 wanted]).fetchone()
        since = _iso(created[0]) if created else None
        return Lease(self, wanted, {**info, "since": since}, stale=holders)

    def holders(self, lock_id: str) -> list[dict]:
        rows = self._sql(f"SELECT {_COLUMNS} FROM reconciler_leases WHERE lock_id = %s ORDER BY customer",
                         [lock_id]).fetchall()
        return [_holder(row) for row in rows]

    def force_unlock(self, lock_id: str, force: bool = False) -> dict:
        holders = self.holders(lock_id)
        if not holders:
            raise LockError(f"no lease in the postgres backend has lock ID {lock_id}: nothing was unlocked")
        live = [h for h in holders if not h["expired"] and not _dead_here(h)]
        if live and not force:
            raise LockError(f"lock ID {lock_id} is a live lease (held {_who(live[0])}, renewed until "
                            f"{live[0]['expires']}): its apply may still be running. Wait for it, or, if you are "
                            "sure it is gone, run force-unlock again with --force")
        self._sql("DELETE FROM reconciler_leases WHERE lock_id = %s", [lock_id])
        return {**holders[0], "customers": [h["customer"] for h in holders]}

    def close(self) -> None:
        self.conn.close()
