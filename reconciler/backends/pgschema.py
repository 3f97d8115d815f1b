"""The postgres backend's schema: created on first use, versioned by a migration table.

Every migration is a list of statements with a version number; `ensure_schema` runs the
ones the database lacks, in order, in one transaction serialized by a transaction-level
advisory lock (so eight runners starting at once create the tables once). A database
whose schema is newer than this tool knows is refused: an older reconciler must not
write records a newer one reads differently.
"""

from __future__ import annotations

SCHEMA_LOCK = 0x7265636F6E  # pg_advisory_xact_lock key: serializes migrations across runners

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE reconciler_leases (
               customer   text PRIMARY KEY,
               lock_id    text,
               run_user   text,
               host       text,
               pid        integer,
               command    text,
               created_at timestamptz,
               expires_at timestamptz)""",
        """CREATE TABLE reconciler_runs (
               run        text PRIMARY KEY,
               lock_id    text NOT NULL,
               plan       text,
               token      text,
               steps      integer,
               customers  text[] NOT NULL,
               run_user   text,
               host       text,
               pid        integer,
               command    text,
               started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
               ended_at   timestamptz,
               outcome    text,
               done       integer,
               failed     integer,
               skipped    integer,
               state      jsonb)""",
        "CREATE INDEX reconciler_runs_customers ON reconciler_runs USING gin (customers)",
        """CREATE TABLE reconciler_journal (
               id      bigserial PRIMARY KEY,
               run     text NOT NULL REFERENCES reconciler_runs (run),
               type    text NOT NULL,
               step    integer,
               token   text,
               action  text,
               address text,
               error   text,
               answer  jsonb,
               at      timestamptz NOT NULL DEFAULT clock_timestamp())""",
        "CREATE INDEX reconciler_journal_run ON reconciler_journal (run, id)",
    ]),
]
LATEST = MIGRATIONS[-1][0]
TABLES = ("reconciler_schema", "reconciler_leases", "reconciler_runs", "reconciler_journal")


class SchemaTooNew(Exception):
    def __init__(self, found: int):
        super().__init__(found)
        self.found = found


def ensure_schema(conn, tool_version: str) -> int:
    """Bring the schema to LATEST; returns the version found before. Raises SchemaTooNew."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
        conn.execute("""CREATE TABLE IF NOT EXISTS reconciler_schema (
                            version    integer PRIMARY KEY,
                            tool       text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        found = conn.execute("SELECT coalesce(max(version), 0) FROM reconciler_schema").fetchone()[0]
        if found > LATEST:
            raise SchemaTooNew(found)
        for version, statements in MIGRATIONS:
            if version > found:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO reconciler_schema (version, tool) VALUES (%s, %s)",
                             [version, tool_version])
    return found
