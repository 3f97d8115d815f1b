"""The sandbox's SQLite file: its schema, its transactions, and snapshots in and out.

One file holds the whole portal. Every change happens inside `transaction()` (BEGIN
IMMEDIATE: one writer at a time, committed durably with synchronous=FULL), so a step
is either wholly in the file or not at all. Dates are ISO strings, booleans 0/1.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.diagnostics import ReconcilerError
from reconciler.domain import PROFILES
from reconciler.sandbox.catalog import BUILTIN_CATALOG, SERIALS, pbx_counter, serial_number
from reconciler.sandbox.clock import INDEXES as CLOCK_INDEXES
from reconciler.snapshot import Snapshot

SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1), today TEXT);  -- the last date the portal saw
CREATE TABLE partner (id INTEGER PRIMARY KEY CHECK (id = 1), overdue_since TEXT);
CREATE TABLE stock (product TEXT PRIMARY KEY, units INTEGER NOT NULL);
CREATE TABLE catalog (category TEXT NOT NULL, product TEXT NOT NULL, position INTEGER NOT NULL,
                      PRIMARY KEY (category, product));
CREATE TABLE customers (id TEXT PRIMARY KEY, company TEXT NOT NULL,
                        hardware_pbx_credit INTEGER NOT NULL DEFAULT 0);  -- WPBX-HW units bought, not yet activated
CREATE TABLE contacts (customer TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                       position INTEGER NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL,
                       PRIMARY KEY (customer, position));
CREATE TABLE pbxes (customer TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE, name TEXT NOT NULL,
                    serial TEXT NOT NULL, model TEXT NOT NULL, region TEXT, term TEXT NOT NULL,
                    activated_on TEXT, expires_on TEXT, status TEXT NOT NULL DEFAULT 'active',
                    deletion_scheduled_on TEXT,
                    {", ".join(f"{p} INTEGER NOT NULL DEFAULT 0" for p in PROFILES)},
                    storage_gb INTEGER, static_ip INTEGER, ssh INTEGER,
                    PRIMARY KEY (customer, name));
CREATE TABLE devices (serial TEXT PRIMARY KEY, product TEXT NOT NULL, billing TEXT NOT NULL, since TEXT,
                      commitment INTEGER NOT NULL DEFAULT 0, customer TEXT NOT NULL, pbx TEXT NOT NULL,
                      FOREIGN KEY (customer, pbx) REFERENCES pbxes(customer, name) ON DELETE CASCADE);
CREATE TABLE counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE applied_tokens (token TEXT PRIMARY KEY, step TEXT NOT NULL, applied_on TEXT NOT NULL);
"""

TABLES = ("applied_tokens", "devices", "pbxes", "contacts", "customers", "catalog", "stock", "counters",
          "partner", "clock")
# Lookups a step makes by something other than a primary key (a PBX by name alone, a PBX's
# devices, the devices a deleted PBX cascades to) and the clock's due-date reads: without
# them each step scans whole tables and apply grows with the square of the portal's size.
# Indexes change no answer, so a file made before one existed gets it at its next write.
INDEXES = {
    "pbxes_by_name": "CREATE INDEX pbxes_by_name ON pbxes (name)",
    "devices_by_pbx": "CREATE INDEX devices_by_pbx ON devices (customer, pbx)",
    **CLOCK_INDEXES,
}
PBX_COLUMNS = ("customer", "name", "serial", "model", "region", "term", "activated_on", "expires_on", "status",
               "deletion_scheduled_on", *PROFILES, "storage_gb", "static_ip", "ssh")


RECOVER = ("restore it from a backup, or start again with `reconciler sandbox load STATE.yaml` "
           "or `reconciler sandbox reset`")


class SandboxDamaged(ReconcilerError):
    """The sandbox file is gone, empty, not a sandbox or damaged: every command stops, nothing is written."""


def damaged(path: Path, problem: str) -> SandboxDamaged:
    return SandboxDamaged(f"the sandbox {path.resolve()} {problem}: {RECOVER}")


def connect(path: Path, *, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """Open the sandbox file, checked (see `check`); `create`: a missing file becomes a new, empty portal.

    `readonly` opens it so that nothing can be written (SQLite's mode=ro): reads never
    change the file's bytes. A missing file without `create`, a 0-byte file, a file that
    is not a sandbox or a damaged one raises SandboxDamaged naming the file and the way back.
    """
    if not path.exists() and not create:
        raise damaged(path, "is missing")
    if path.exists() and path.stat().st_size == 0:
        raise damaged(path, "is empty (0 bytes)")
    new = not path.exists()
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
    target = f"{path.resolve().as_uri()}?mode=ro" if readonly else str(path)
    try:
        conn = sqlite3.connect(target, isolation_level=None, timeout=30, uri=readonly)  # transactions explicit
    except sqlite3.Error as exc:
        raise damaged(path, f"cannot be opened ({exc})") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            conn.execute("PRAGMA synchronous = FULL")
        if new:
            with transaction(conn):
                if not _tables(conn):  # another process may have created it meanwhile
                    create_schema(conn)
        check(conn, path)
        if not readonly:
            _add_indexes(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise damaged(path, f"is not a sandbox portal file, or is damaged ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check(conn: sqlite3.Connection, path: Path) -> None:
    """The file has every table of this schema version and exactly one clock and partner row."""
    missing = {"schema_version", *TABLES} - _tables(conn)
    if missing:
        raise damaged(path, f"is not a sandbox portal file, or is damaged (no table {', '.join(sorted(missing))})")
    version = conn.execute("SELECT version FROM schema_version").fetchone()
    if version is None or version[0] != SCHEMA_VERSION:
        raise ReconcilerError(f"{path} is a sandbox file of schema version {version and version[0]}; this "
                              f"reconciler reads version {SCHEMA_VERSION}: reset or load the sandbox again")
    for table in ("clock", "partner"):
        if conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] != 1:
            raise damaged(path, f"is damaged (its {table} table must hold one row)")


def _add_indexes(conn: sqlite3.Connection) -> None:
    """The indexes a file made before them lacks (one write transaction, only when one is missing)."""
    have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    if not set(INDEXES) <= have:
        with transaction(conn):
            for name, statement in INDEXES.items():
                if name not in have:
                    conn.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))


def create_schema(conn: sqlite3.Connection) -> None:
    """The tables of an empty portal, inside the caller's transaction."""
    for statement in [*SCHEMA.split(";"), *INDEXES.values()]:  # not executescript: it would commit
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    clear(conn)


def begin_session(conn: sqlite3.Connection) -> None:
    """Many steps on one connection: WAL mode, so each commit is one fsync'd append (synchronous=FULL:
    as durable as the rollback journal's commit, a third of its cost). `end_session` goes back."""
    conn.execute("PRAGMA journal_mode = WAL")


def end_session(conn: sqlite3.Connection) -> None:
    """Back to the rollback journal (checkpointed, the -wal file removed) and closed.

    A file at rest is never left in WAL mode: a read-only reader of a WAL file creates its
    -wal and -shm files, and reads must leave the sandbox's folder as they found it. If
    another connection holds the file, it stays in WAL mode (as durable) until a later session.
    """
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError:  # "database is locked": another writer or reader is on it
        pass
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed if the block ends normally, rolled back otherwise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def clear(conn: sqlite3.Connection) -> None:
    """The empty portal: no customers, the built-in catalog, no stock, counters from 1, no clock."""
    for table in TABLES:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("INSERT INTO clock VALUES (1, NULL)")
    conn.execute("INSERT INTO partner VALUES (1, NULL)")
    conn.executemany("INSERT INTO counters VALUES (?, 1)", [(name,) for name in SERIALS])
    _write_catalog(conn, {category: list(products) for category, products in BUILTIN_CATALOG.items()})


def _write_catalog(conn: sqlite3.Connection, catalog: dict[str, list[str]]) -> None:
    conn.execute("DELETE FROM catalog")
    conn.executemany("INSERT INTO catalog VALUES (?, ?, ?)",
                     [(category, product, i) for category, products in catalog.items()
                      for i, product in enumerate(products)])


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def write_snapshot(conn: sqlite3.Connection, snapshot: Snapshot) -> None:
    """Replace the whole portal with the snapshot's content; its `as_of` becomes the portal's clock."""
    clear(conn)
    conn.execute("UPDATE clock SET today = ?", (_iso(snapshot.as_of),))
    conn.execute("UPDATE partner SET overdue_since = ?", (_iso(snapshot.partner.overdue_since),))
    conn.executemany("INSERT INTO stock VALUES (?, ?)", sorted(snapshot.stock.items()))
    if snapshot.catalog:
        _write_catalog(conn, snapshot.catalog)
    numbers: dict[str, list[int]] = {name: [0] for name in SERIALS}
    for customer_id, customer in snapshot.customers.items():
        conn.execute("INSERT INTO customers (id, company) VALUES (?, ?)", (customer_id, customer.company))
        conn.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?)",
                         [(customer_id, i, c.name, c.email) for i, c in enumerate(customer.contacts)])
        for name, pbx in customer.pbxes.items():
            row = {"customer": customer_id, "name": name, "serial": pbx.serial, "model": pbx.model,
                   "region": pbx.region, "term": pbx.term, "activated_on": _iso(pbx.activated_on),
                   "expires_on": _iso(pbx.expires_on), "status": pbx.status,
                   "deletion_scheduled_on": _iso(pbx.deletion_scheduled_on), **pbx.licenses.counts(),
                   "storage_gb": pbx.storage_gb, "static_ip": _bool(pbx.static_ip), "ssh": _bool(pbx.ssh)}
            insert_pbx(conn, row)
            numbers[pbx_counter(pbx.model)].append(serial_number(pbx_counter(pbx.model), pbx.serial) or 0)
            for d in pbx.devices:
                conn.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (d.serial, d.product, d.billing, _iso(d.since), int(d.commitment), customer_id, name))
                numbers["device"].append(serial_number("device", d.serial) or 0)
    conn.executemany("UPDATE counters SET next = ? WHERE name = ?",
                     [(max(found) + 1, name) for name, found in numbers.items()])


def insert_pbx(conn: sqlite3.Connection, row: dict) -> None:
    conn.execute(f"INSERT INTO pbxes ({', '.join(PBX_COLUMNS)}) VALUES ({', '.join('?' * len(PBX_COLUMNS))})",
                 [row[column] for column in PBX_COLUMNS])


def next_serial(conn: sqlite3.Connection, counter: str) -> int:
    """Take the next number of a serial counter; it is never handed out again."""
    number = conn.execute("SELECT next FROM counters WHERE name = ?", (counter,)).fetchone()[0]
    conn.execute("UPDATE counters SET next = next + 1 WHERE name = ?", (counter,))
    return number


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def read_snapshot(conn: sqlite3.Connection, as_of: dt.date, path: Path | None = None) -> Snapshot:
    """The portal as a snapshot on `as_of`: customers, PBXs and devices sorted (by id, name, serial).

    A value the portal could not hold (a bad date, a device of a PBX that is not there)
    is a damaged file, named by `path`: never a traceback.
    """
    try:
        return _read_snapshot(conn, as_of)
    except (ValueError, KeyError, TypeError, sqlite3.DatabaseError) as exc:  # pydantic's ValidationError too
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise damaged(path or Path("file"), f"holds values a portal cannot ({message})") from None


def _read_snapshot(conn: sqlite3.Connection, as_of: dt.date) -> Snapshot:
    catalog: dict[str, list[str]] = {}
    for row in conn.execute("SELECT category, product FROM catalog ORDER BY category, position"):
        catalog.setdefault(row["category"], []).append(row["product"])
    customers: dict[str, dict] = {}
    for row in conn.execute("SELECT id, company FROM customers ORDER BY id"):
        customers[row["id"]] = {"company": row["company"], "contacts": [], "pbxes": {}}
    for row in conn.execute("SELECT customer, name, email FROM contacts ORDER BY customer, position"):
        customers[row["customer"]]["contacts"].append({"name": row["name"], "email": row["email"]})
    for row in conn.execute("SELECT * FROM pbxes ORDER BY customer, name"):
        customers[row["customer"]]["pbxes"][row["name"]] = {
            "serial": row["serial"], "model": row["model"], "region": row["region"], "term": row["term"],
            "activated_on": _date(row["activated_on"]), "expires_on": _date(row["expires_on"]),
            "status": row["status"], "deletion_scheduled_on": _date(row["deletion_scheduled_on"]),
            "licenses": {profile: row[profile] for profile in PROFILES}, "storage_gb": row["storage_gb"],
            "static_ip": _flag(row["static_ip"]), "ssh": _flag(row["ssh"]), "devices": []}
    for row in conn.execute("SELECT * FROM devices ORDER BY customer, pbx, serial"):
        customers[row["customer"]]["pbxes"][row["pbx"]]["devices"].append({
            "serial": row["serial"], "product": row["product"], "billing": row["billing"],
            "since": _date(row["since"]), "commitment": bool(row["commitment"])})
    overdue = conn.execute("SELECT overdue_since FROM partner").fetchone()[0]
    stock = {row["product"]: row["units"] for row in conn.execute("SELECT * FROM stock ORDER BY product")}
    return Snapshot.model_validate({"as_of": as_of, "partner": {"overdue_since": _date(overdue)}, "stock": stock,
                                    "catalog": catalog, "customers": customers})


def empty_snapshot(as_of: dt.date) -> Snapshot:
    """What a sandbox never used reads as: the state right after a reset."""
    return Snapshot(as_of=as_of, catalog={category: list(products) for category, products in BUILTIN_CATALOG.items()})
