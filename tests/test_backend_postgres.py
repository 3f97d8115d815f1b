"""The postgres backend on a real server: schema versions, leases of dead runners, apply and history end to end,
eight applies at once, and the server stopping mid-apply."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from reconciler.apply.journal import read_journal
from reconciler.apply.lock import LockError
from reconciler.backends import BackendError
from reconciler.backends.postgres import PostgresBackend
from reconciler.backends.pgschema import LATEST, TABLES
from tests.test_backend_drift import assert_drift_reported
from tests.test_apply_e2e import planned, portal, ready, reconciler, sandbox_repo

ROOT = Path(__file__).resolve().parent.parent


def use_postgres(repo: Path, lease_seconds: float = 30) -> None:
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + f"backend:\n  kind: postgres\n  lease_seconds: {lease_seconds}\n")


def test_the_schema_is_made_on_first_use_and_a_newer_one_is_refused(pg_dsn):
    PostgresBackend(pg_dsn).close()
    PostgresBackend(pg_dsn).close()  # the second use finds it made
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'reconciler_%'")}
        assert tables == set(TABLES)
        assert conn.execute("SELECT max(version), count(*) FROM reconciler_schema").fetchone() == (LATEST, LATEST)
        conn.execute("INSERT INTO reconciler_schema (version, tool) VALUES (%s, 'future')", [LATEST + 1])
    with pytest.raises(BackendError, match=f"schema is version {LATEST + 1}, newer than .*upgrade reconciler"):
        PostgresBackend(pg_dsn)


def test_no_connection_string_and_a_dead_server_are_clear_and_never_print_it(monkeypatch):
    monkeypatch.delenv("TEAM_DSN", raising=False)
    with pytest.raises(BackendError, match=r"\$TEAM_DSN, which is not set"):
        PostgresBackend.from_env("TEAM_DSN")
    dsn = "host=127.0.0.1 port=1 user=ops password=s3cret-pw dbname=x connect_timeout=2"
    monkeypatch.setenv("TEAM_DSN", dsn)
    with pytest.raises(BackendError) as failed:
        PostgresBackend.from_env("TEAM_DSN")
    assert "cannot be used" in str(failed.value) and "s3cret-pw" not in str(failed.value)


def test_a_dsn_written_in_the_config_file_is_refused(tmp_path):
    repo, _ = sandbox_repo(tmp_path, "term-change")
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + "backend:\n  kind: postgres\n  dsn: postgresql://ops:s3cret@db/x\n")
    result = reconciler(repo, "validate")
    assert result.returncode == 1 and "never written in reconciler.yaml" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_force_unlock_refuses_a_live_lease_unless_forced(pg_dsn):
    backend = PostgresBackend(pg_dsn)
    held = backend.acquire(["acme", "globex"], "apply", 0)
    with pytest.raises(LockError, match="is a live lease .* --force"):
        backend.force_unlock(held.id)
    assert backend.force_unlock(held.id, force=True)["customers"] == ["acme", "globex"]
    held.release()
    backend.close()


HOLDER = """
import sys, time
from reconciler.backends.postgres import PostgresBackend
lease = PostgresBackend(sys.argv[1], lease_seconds=60).acquire(["acme"], "apply", 0)
print(lease.id, flush=True)
time.sleep(60)
"""


def test_a_holder_killed_with_sigkill_leaves_a_lease_that_is_reported_and_taken_over(pg_dsn):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, pg_dsn], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lock_id = holder.stdout.readline().strip()
        assert lock_id
        backend = PostgresBackend(pg_dsn)
        with pytest.raises(LockError, match="is locked by apply"):
            backend.acquire(["acme"], "apply", 0)  # alive: it waits, or stops clearly
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with backend.acquire(["acme"], "apply", 0) as lease:
        assert [(s["id"], s["pid"], s["customer"]) for s in lease.stale] == [(lock_id, holder.pid, "acme")]
    backend.close()


def test_a_lease_from_another_machine_expires_and_is_reported_with_its_owner(pg_dsn):
    backend = PostgresBackend(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO reconciler_leases VALUES ('acme', 'feed', 'ci', 'runner-7', 42, 'apply', now(), "
                     "now() + interval '1 second')")
    started = time.monotonic()
    with backend.acquire(["acme"], "apply", 10) as lease:
        assert 0.5 < time.monotonic() - started < 5
        assert [(s["id"], s["user"], s["host"], s["expired"]) for s in lease.stale] == \
            [("feed", "ci", "runner-7", True)]
    backend.close()


def test_apply_on_postgres_then_history_lists_it(tmp_path, pg_dsn):
    repo, today = sandbox_repo(tmp_path, "term-change")
    use_postgres(repo)
    env = {"RECONCILER_BACKEND_DSN": pg_dsn}
    applied = reconciler(repo, "apply", "--today", today, "--auto-approve", env=env)
    assert applied.returncode == 0 and "Apply complete: 3 done." in applied.stdout, applied.stdout + applied.stderr
    steps = 3
    assert not (repo / ".reconciler" / "sandbox.db.lock").exists()
    local = read_journal(repo / ".reconciler" / "sandbox.db.journal").records  # the sandbox's own load, no more
    assert [r["type"] for r in local if r["type"].startswith(("run", "step"))] == []  # apply's is in the database
    listed = json.loads(reconciler(repo, "history", "--format", "json", env=env, check=True).stdout)
    [entry] = listed["applies"]
    assert (entry["outcome"], entry["done"], entry["failed"], entry["command"]) == ("complete", steps, 0, "apply")
    text = reconciler(repo, "history", "--customer", entry["customers"][0], env=env, check=True).stdout
    assert entry["run"] in text and f"done {steps}" in text
    assert "No applies" in reconciler(repo, "history", "--customer", "nobody", env=env, check=True).stdout
    assert pg_dsn not in applied.stdout + applied.stderr + text
    assert_drift_reported(repo, today, env)


@pytest.fixture(scope="module")
def converged(tmp_path_factory) -> str:
    """The portal a single apply of hwaas-orders-returns leaves, on the local backend."""
    base, today = sandbox_repo(tmp_path_factory.mktemp("base"), "hwaas-orders-returns")
    reconciler(base, "apply", "--today", today, "--auto-approve", check=True)
    return portal(base, today)


def test_eight_applies_at_once_one_at_a_time_and_nothing_doubled(tmp_path, pg_dsn, converged):
    repo, today = sandbox_repo(tmp_path / "shared", "hwaas-orders-returns")
    use_postgres(repo)
    env = {"RECONCILER_BACKEND_DSN": pg_dsn}
    steps = len(ready(planned(repo, today)))
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: reconciler(repo, "apply", "--today", today, "--auto-approve",
                                                  "--lock-timeout", "60", env=env), range(8)))
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    assert sum("Apply complete" in r.stdout for r in runs) == 1  # the others found nothing left to apply
    assert sum("Nothing to apply today." in r.stdout for r in runs) == 7
    assert portal(repo, today) == converged  # the state a single run leaves: nothing ordered twice
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        spans = conn.execute("SELECT started_at, ended_at, done FROM reconciler_runs ORDER BY started_at").fetchall()
        leases = conn.execute("SELECT count(*) FROM reconciler_leases WHERE lock_id IS NOT NULL").fetchone()[0]
    assert [done for _, _, done in spans] == [steps] and leases == 0


def test_the_server_stopped_mid_apply_stops_it_clearly_and_the_next_apply_continues(tmp_path, capsys, monkeypatch,
                                                                                      converged):
    from reconciler.cli import main
    from reconciler.providers.sandbox import SandboxProvider
    from tests.pgserver import remove, start_cluster

    repo, today = sandbox_repo(tmp_path / "repo", "hwaas-orders-returns")
    use_postgres(repo, lease_seconds=1)
    cluster = start_cluster()  # its own server: this test stops it
    try:
        dsn = cluster.dsn()
        monkeypatch.setenv("RECONCILER_BACKEND_DSN", dsn)
        execute, calls = SandboxProvider.execute, []

        def stop_server_after_the_first_step(self, step, today, token):
            calls.append(step.id)
            if len(calls) == 2:
                cluster.stop("immediate")
            return execute(self, step, today, token)

        monkeypatch.setattr(SandboxProvider, "execute", stop_server_after_the_first_step)
        code = main(["apply", "--repo", str(repo), "--today", today, "--auto-approve"])
        err = capsys.readouterr().err
        assert code == 1 and "error: the postgres backend (connection string in $RECONCILER_BACKEND_DSN) cannot " \
                              "be used" in err, err
        assert "Traceback" not in err and dsn not in err
        monkeypatch.undo()
        cluster.start()
        time.sleep(1.2)  # this process holds the lease it could not release: let it expire
        again = reconciler(repo, "apply", "--today", today, "--auto-approve", env={"RECONCILER_BACKEND_DSN": dsn})
        assert again.returncode == 0, again.stdout + again.stderr
        assert "took over the lease" in again.stderr and "did not finish" in again.stderr
        assert f"started but not confirmed: step {calls[1]} " in again.stderr
        assert portal(repo, today) == converged
    finally:
        remove(cluster)


def test_a_lease_is_renewed_while_its_holder_runs(pg_dsn):
    holder, other = PostgresBackend(pg_dsn, lease_seconds=0.6), PostgresBackend(pg_dsn)
    with holder.acquire(["acme"], "apply", 0):
        time.sleep(1.5)  # more than twice its length: only renewal keeps it
        with pytest.raises(LockError, match="customer acme is locked by apply"):
            other.acquire(["acme"], "apply", 0)
    with other.acquire(["acme"], "apply", 0) as lease:
        assert lease.stale == []  # released, not expired
    holder.close(), other.close()


def test_a_saved_plan_applied_on_postgres_is_in_the_history_with_its_checksum(tmp_path, pg_dsn):
    repo, today = sandbox_repo(tmp_path, "term-change")
    use_postgres(repo)
    env = {"RECONCILER_BACKEND_DSN": pg_dsn}
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", env=env, check=True)
    checksum = json.loads((repo / "plan.json").read_text())["checksum"]
    applied = reconciler(repo, "apply", "plan.json", "--today", today, env=env)
    assert applied.returncode == 0 and "Apply complete" in applied.stdout, applied.stdout + applied.stderr
    [entry] = json.loads(reconciler(repo, "history", "--format", "json", env=env, check=True).stdout)["applies"]
    assert (entry["plan"], entry["outcome"], entry["customers"]) == (checksum, "complete", ["globex"])
