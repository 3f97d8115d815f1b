"""The apply lock: one holder per target; who/when/what in the refusal; stale locks reported, broken by ID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from reconciler.apply.lock import LockError, LockHeld, acquire, force_unlock, lock_path
from tests.test_apply_support import ROOT, run_python

HOLD = """
import sys
from reconciler.apply.lock import acquire
lock = acquire(sys.argv[1], "apply", provider="sandbox")
print(lock.id, flush=True)
sys.stdin.read()  # hold until the test closes our stdin
lock.release()
"""


@pytest.fixture
def holder(tmp_path):
    """A live process holding the lock on tmp_path/sandbox.db."""
    target = tmp_path / "sandbox.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    lock_id = proc.stdout.readline().strip()
    yield target, proc, lock_id
    proc.stdin.close()
    proc.wait(timeout=10)


def test_the_lock_file_says_who_when_and_what_and_goes_on_release(tmp_path):
    target = tmp_path / "sandbox.db"
    with acquire(target, "apply plans/p.json") as lock:
        info = json.loads(lock_path(target).read_text())
        assert info == lock.info
        assert set(info) == {"id", "pid", "host", "user", "command", "since"}
        assert (info["pid"], info["host"], info["command"]) == (os.getpid(), socket.gethostname(), "apply plans/p.json")
        assert len(info["id"]) == 32 and info["since"].endswith("Z")
    assert not lock_path(target).exists()


def test_a_lock_held_by_a_live_process_names_its_pid_and_since(holder):
    target, proc, lock_id = holder
    with pytest.raises(LockHeld) as caught:
        acquire(target, "apply", provider="sandbox")
    since = json.loads(lock_path(target).read_text())["since"]
    message = str(caught.value)
    assert message.startswith(f"the sandbox {target} is locked by apply (pid {proc.pid}, user ")
    assert f"since {since}; lock ID {lock_id}" in message
    assert not caught.value.stale and "stale" not in message


def test_the_exact_message_for_a_holder_on_another_host(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".reconciler").mkdir()
    lock_path(".reconciler/sandbox.db").write_text(json.dumps(
        {"id": "3f2a9c", "pid": 1234, "user": "bob", "host": "x", "command": "apply",
         "since": "2026-11-22T10:00:00Z"}))
    with pytest.raises(LockHeld) as caught:
        acquire(".reconciler/sandbox.db", "apply", provider="sandbox")
    assert str(caught.value) == ("the sandbox .reconciler/sandbox.db is locked by apply (pid 1234, user bob on host x)"
                                 " since 2026-11-22T10:00:00Z; lock ID 3f2a9c")


def test_a_timeout_waits_then_fails(holder):
    target, _, _ = holder
    started = time.monotonic()
    with pytest.raises(LockHeld, match=r"\(waited 0.3 s\)$"):
        acquire(target, "apply", timeout=0.3)
    assert time.monotonic() - started >= 0.3


def test_a_timeout_gets_the_lock_once_it_is_released(tmp_path):
    target = tmp_path / "sandbox.db"
    first = acquire(target, "apply")
    threading.Timer(0.2, first.release).start()
    with acquire(target, "apply", timeout=5) as second:
        assert second.id != first.id


def test_a_stale_lock_is_reported_and_broken_only_with_its_id(tmp_path):
    target = tmp_path / "sandbox.db"
    died = run_python(f"import os; from reconciler.apply.lock import acquire; "
                      f"print(acquire({str(target)!r}, 'apply').id, flush=True); os._exit(137)")
    assert died.returncode == 137
    lock_id = died.stdout.strip()
    with pytest.raises(LockHeld) as caught:
        acquire(target, "apply", timeout=5)  # a stale lock will not go away: no waiting
    assert caught.value.stale
    assert "The lock is stale: process" in str(caught.value) and "is no longer running" in str(caught.value)
    assert str(caught.value).endswith(f"Break it with `reconciler force-unlock {lock_id}`")
    assert lock_path(target).exists()  # never broken on our own

    with pytest.raises(LockError, match="lock ID wrong does not match .* nothing was unlocked"):
        force_unlock(target, "wrong")
    assert lock_path(target).exists()
    assert force_unlock(target, lock_id)["id"] == lock_id
    assert not lock_path(target).exists()
    acquire(target, "apply").release()


def test_a_garbage_lock_file_is_reported_not_crashed_on(tmp_path):
    target = tmp_path / "sandbox.db"
    lock_path(target).write_bytes(b"\x00\xffnot json")
    with pytest.raises(LockHeld, match=r"cannot be read .* remove .*sandbox.db.lock by hand"):
        acquire(target, "apply")
    with pytest.raises(LockError, match="has no ID to match"):
        force_unlock(target, "anything")


def test_force_unlock_without_a_lock_says_so(tmp_path):
    with pytest.raises(LockError, match="is not locked"):
        force_unlock(tmp_path / "sandbox.db", "abc")


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    target = tmp_path / "sandbox.db"
    mine = acquire(target, "apply")
    force_unlock(target, mine.id, force=True)  # its holder (this process) is alive: only --force breaks it
    theirs = acquire(target, "apply")
    mine.release()
    assert json.loads(lock_path(target).read_text())["id"] == theirs.id
    theirs.release()


def test_force_unlock_refuses_a_holder_that_is_still_running_unless_forced(holder):
    target, proc, lock_id = holder
    with pytest.raises(LockError, match=rf"by apply \(pid {proc.pid}, user .* on host {socket.gethostname()}\).*"
                                        rf"process {proc.pid} is still running on this host: it is not stale"):
        force_unlock(target, lock_id)
    assert json.loads(lock_path(target).read_text())["id"] == lock_id  # still held
    assert force_unlock(target, lock_id, force=True)["pid"] == proc.pid
    assert not lock_path(target).exists()
