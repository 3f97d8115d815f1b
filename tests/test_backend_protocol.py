"""One test suite of the backend protocol, run against both backends: local files and a real PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.apply.lock import LockError, LockHeld
from reconciler.backends import ApplyRecord
from reconciler.backends.local import LocalBackend
from reconciler.backends.postgres import PostgresBackend


@pytest.fixture(params=["local", "postgres"])
def backend(request, tmp_path):
    if request.param == "local":
        made = LocalBackend(tmp_path / "sandbox.db")
    else:
        made = PostgresBackend(request.getfixturevalue("pg_dsn"), lease_seconds=30)
    yield made
    made.close()


def test_a_held_lock_refuses_another_run_and_names_its_holder(backend):
    with backend.acquire(["acme"], "apply", 0) as held:
        with pytest.raises(LockHeld) as refused:
            backend.acquire(["acme"], "apply", 0)
        assert held.id in str(refused.value) and "pid" in str(refused.value)
        assert refused.value.holder["id"] == held.id
    with backend.acquire(["acme"], "apply", 0) as again:  # released: free again
        assert again.id != held.id


def test_a_waiting_run_gets_the_lock_when_the_holder_releases_it(backend):
    held = backend.acquire(["acme", "globex"], "apply", 0)
    threading.Timer(0.3, held.release).start()
    started = time.monotonic()
    with backend.acquire(["globex", "acme"], "apply", 10):
        assert 0.2 < time.monotonic() - started < 5


def test_force_unlock_breaks_the_lock_with_its_id_only(backend):
    held = backend.acquire(["acme"], "apply", 0)
    with pytest.raises(LockError, match="nothing was unlocked"):
        backend.force_unlock("0" * 32, force=True)
    removed = backend.force_unlock(held.id, force=True)
    assert removed["id"] == held.id and removed["command"] == "apply"
    with backend.acquire(["acme"], "apply", 0):
        pass
    held.release()  # no longer ours: releasing it must not break the new holder's
    with backend.acquire(["acme"], "apply", 0):
        pass


def test_a_run_cut_short_is_reported_with_its_step_in_doubt(backend):
    with backend.acquire(["acme"], "apply", 0) as held:
        journal = backend.journal(held, ["acme"])
        journal.run_start("run1", "sha256:abc", "tok", 3)
        journal.step_start("run1", 1, "tok:1", "add-licenses", "acme/acme")
        journal.step_done("run1", 1, "tok:1")
        journal.step_start("run1", 2, "tok:2", "set-options", "acme/acme")
    unfinished = backend.unfinished_run(["acme"])
    assert unfinished is not None and unfinished.run == "run1" and unfinished.plan == "sha256:abc"
    assert unfinished.done == [1] and [r["step"] for r in unfinished.in_doubt] == [2]
    assert "step 2 (set-options acme/acme)" in unfinished.message()
    with backend.acquire(["acme"], "apply", 0) as held:
        journal = backend.journal(held, ["acme"])
        journal.run_start("run2", "sha256:abc", "tok", 3)
        journal.step_done("run2", 2, "tok:2")
        journal.run_end("run2", "complete")
    assert backend.unfinished_run(["acme"]) is None


def test_history_lists_applies_and_the_state_each_left(backend):
    for run, customer, licenses in (("r1", "acme", 5), ("r2", "globex", 1), ("r3", "acme", 7)):
        with backend.acquire([customer], "apply", 0) as held:
            journal = backend.journal(held, [customer])
            journal.run_start(run, "sha256:" + run, "tok", 2)
            journal.step_start(run, 1, "tok:1", "add-licenses", customer)
            journal.step_done(run, 1, "tok:1")
            journal.run_end(run, "complete")
            backend.record(held, ApplyRecord(run=run, plan="sha256:" + run, outcome="complete",
                                             customers=[customer], done=1, failed=0, skipped=1,
                                             state={customer: {"licenses": {"basic": licenses}}}))
    everything = backend.history()
    assert [h["run"] for h in everything] == ["r1", "r2", "r3"]
    first = everything[0]
    assert (first["plan"], first["outcome"], first["done"], first["failed"], first["skipped"]) == \
        ("sha256:r1", "complete", 1, 0, 1)
    assert first["user"] and first["host"] and first["pid"] and first["started"] and first["finished"]
    assert [h["run"] for h in backend.history(customer="acme")] == ["r1", "r3"]
    assert backend.history(since="2999-01-01") == []
    assert backend.last_states(["acme", "globex", "initech"]) == {
        "acme": {"licenses": {"basic": 7}}, "globex": {"licenses": {"basic": 1}}}
