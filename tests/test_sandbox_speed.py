"""The sandbox applies in time linear in the steps: a step's cost does not grow with the portal, one
connection per run, WAL commits as durable as before, and a file at rest as a reader expects it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap

from reconciler.providers.sandbox import SandboxProvider
from reconciler.sandbox import store
from reconciler.sandbox.clock import advance
from reconciler.snapshot import Snapshot
from tests.test_sandbox_support import CONTACTS, TODAY, cloud, pbx_of, sandbox, scene, step


def big_scene(customers: int) -> Snapshot:
    """`customers` customers with one cloud PBX each, none of them due to renew or be deleted on TODAY."""
    data = {"as_of": TODAY.isoformat(), "partner": {"overdue_since": None}, "stock": {},
            "customers": {f"c{i:05d}": {"company": f"C{i}", "contacts": CONTACTS,
                                        "pbxes": {f"c{i:05d}": cloud(f"SW-{i:08d}")}} for i in range(customers)}}
    return Snapshot.model_validate(data, strict=False)


def instructions_of_advance(path, today: dt.date) -> int:
    """SQLite virtual-machine instructions one clock move takes (the progress handler counts them)."""
    conn = store.connect(path)
    count = [0]

    def tick():
        count[0] += 1
        return 0

    conn.set_progress_handler(tick, 1)
    with store.transaction(conn):
        advance(conn, today)
    conn.close()
    return count[0]


def test_a_clock_move_reads_only_what_is_due_not_every_pbx(tmp_path):
    small, large = (sandbox(tmp_path / size, big_scene(n)) for size, n in (("small", 50), ("large", 1000)))
    day = TODAY + dt.timedelta(days=1)
    assert instructions_of_advance(large.path, day) <= instructions_of_advance(small.path, day) + 20


def test_a_run_opens_the_file_once_and_each_step_is_committed_when_it_returns(tmp_path, monkeypatch):
    provider = sandbox(tmp_path)
    opened = []
    real = store.connect
    monkeypatch.setattr(store, "connect", lambda *a, **k: opened.append(a) or real(*a, **k))
    with provider.session():
        for i, customer in enumerate(("acme", "globex", "initech")):
            before = 10 if customer == "acme" else 0
            provider.execute(step("add-licenses", customer, customer, {"licenses.basic": [before, before + 1]}),
                             TODAY, f"t{i}")
            other = sqlite3.connect(provider.path)  # another process's view: the commit is in the file
            assert other.execute("SELECT COUNT(*) FROM applied_tokens").fetchone()[0] == i + 1
            other.close()
        conn = provider._session[1]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: every commit synced
    assert len(opened) == 1
    assert not [p.name for p in provider.path.parent.iterdir() if p.name.endswith(("-wal", "-shm"))]
    with sqlite3.connect(provider.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # at rest as a reader expects


def test_a_run_killed_inside_its_session_keeps_its_commits_and_reads_and_reloads_cleanly(tmp_path):
    provider = sandbox(tmp_path)
    script = textwrap.dedent(f"""
        import datetime as dt, os
        from reconciler.providers.sandbox import SandboxProvider
        from tests.test_sandbox_support import step
        provider = SandboxProvider({str(provider.path)!r})
        with provider.session():
            provider.execute(step("add-licenses", "acme", "acme", {{"licenses.basic": [10, 12]}}),
                             dt.date.fromisoformat({TODAY.isoformat()!r}), "killed")
            os._exit(137)
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    assert (tmp_path / "portal" / "sandbox.db-wal").exists()  # the commit is in the WAL, not yet checkpointed
    assert pbx_of(SandboxProvider(provider.path).read(TODAY), "acme/acme").licenses.basic == 12
    again = SandboxProvider(provider.path)
    assert again.execute(step("add-licenses", "acme", "acme", {"licenses.basic": [10, 12]}), TODAY,
                         "killed") is False  # exactly once: the token was committed before the kill
    with sqlite3.connect(provider.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # the next write put it back to rest
    again.load(scene())  # the way back replaces the file and its WAL
    assert not [p.name for p in provider.path.parent.iterdir() if p.name.endswith(("-wal", "-shm"))]
    assert pbx_of(again.read(TODAY), "acme/acme").licenses.basic == 10


def test_a_file_made_before_the_indexes_gets_them_at_its_next_write_and_a_read_adds_none(tmp_path):
    provider = sandbox(tmp_path)
    with sqlite3.connect(provider.path) as conn:
        for name in store.INDEXES:
            conn.execute(f"DROP INDEX {name}")
    before = provider.path.read_bytes()
    provider.read(TODAY)
    assert provider.path.read_bytes() == before
    provider.advance(TODAY)
    with sqlite3.connect(provider.path) as conn:
        have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(store.INDEXES) <= have
