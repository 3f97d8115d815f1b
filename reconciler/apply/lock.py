"""One apply at a time per portal: a lock file beside the provider's target.

Two applies against the same portal would interleave their steps and each would prove
its plan against a state the other is changing. So apply takes `<target>.lock` first,
created atomically (O_CREAT|O_EXCL: exactly one process wins), holding who took it,
when and for what (Terraform's `statemgr/locker.go` LockInfo). A lock whose holder was
a process on this host that is gone is *reported* as stale, never broken on our own:
the dead apply may have left a step half done, and a person should look at the journal
before running `reconciler force-unlock ID`. A lock whose holder is a live process on
this host is never broken (both would then change the portal at once), unless forced.
"""

from __future__ import annotations

import datetime as dt
import errno
import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.diagnostics import ReconcilerError

RETRY_SECONDS = 0.1


class LockError(ReconcilerError):
    """A lock could not be taken or broken; the message says why and what to do."""


class LockHeld(LockError):
    """Someone else holds the lock (or its file cannot be read).

    `holder` is the lock file's JSON (None when unreadable); `stale` is True when the
    holder was a process on this host that is no longer running.
    """

    def __init__(self, message: str, holder: dict | None = None, stale: bool = False):
        super().__init__(message)
        self.holder = holder
        self.stale = stale


def lock_path(target: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(target)}.lock")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without a passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


@dataclass
class Lock:
    """A held lock; `release()` (or leaving the `with` block) removes its file."""

    path: Path
    info: dict = field(default_factory=dict)
    released: bool = False

    @property
    def id(self) -> str:
        return self.info["id"]

    def release(self) -> None:
        """Remove the lock file, only if it is still ours (it may have been force-unlocked and retaken)."""
        if self.released:
            return
        self.released = True
        holder, _ = _read(self.path)
        if holder is not None and holder.get("id") == self.id:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(target: str | os.PathLike, command: str, timeout: float = 0.0, *, provider: str | None = None) -> Lock:
    """Take the lock on `target`, retrying every 0.1 s for up to `timeout` seconds.

    Raises LockHeld naming the holder. `provider` (e.g. "sandbox") only words the message.
    """
    path = lock_path(target)
    info = {"id": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(), "user": _user(),
            "command": command, "since": now_iso()}
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        if _create(path, info):
            return Lock(path, info)
        holder, problem = _read(path)
        if holder is None and problem is None:
            continue  # released between our attempt and our read: try again at once
        stale = holder is not None and _dead_here(holder)
        if stale or time.monotonic() >= deadline:
            raise _held(target, provider, path, holder, problem, stale, timeout)
        time.sleep(RETRY_SECONDS)


def force_unlock(target: str | os.PathLike, lock_id: str, force: bool = False) -> dict:
    """Break the lock on `target` if its ID is `lock_id` and its holder is not running here (or `force`).

    Returns what the lock held.
    """
    path = lock_path(target)
    holder, problem = _read(path)
    if holder is None and problem is None:
        raise LockError(f"{os.fspath(target)} is not locked: there is no {path}")
    if holder is None:
        raise LockError(f"the lock file {path} cannot be read ({problem}), so it has no ID to match; "
                        f"if no apply is running, remove {path} by hand")
    if holder.get("id") != lock_id:
        raise LockError(f"lock ID {lock_id} does not match the lock on {os.fspath(target)} "
                        f"(held {_who(holder)}; lock ID {holder.get('id')}): nothing was unlocked")
    if not force and _alive_here(holder):
        raise LockError(f"the lock on {os.fspath(target)} is held {_who(holder)}, and process {holder.get('pid')} "
                        f"is still running on this host: it is not stale, nothing was unlocked. Wait for it, "
                        f"or stop it; --force breaks the lock anyway (two applies would then change the portal "
                        f"at once)")
    path.unlink(missing_ok=True)
    return holder


def _create(path: Path, info: dict) -> bool:
    """Create the lock file with `info`, atomically; False when it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(info, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _read(path: Path, retry: bool = True) -> tuple[dict | None, str | None]:
    """(holder, None), or (None, problem) for an unreadable file, or (None, None) when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, str(exc)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return data, None
    if retry:  # the winner may still be writing it (between O_EXCL and write): look once more
        time.sleep(0.05)
        return _read(path, retry=False)
    return None, "empty" if not text.strip() else "not a lock record"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def _here(holder: dict) -> bool:
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and pid > 0


def _dead_here(holder: dict) -> bool:
    return _here(holder) and not _alive(holder["pid"])


def _alive_here(holder: dict) -> bool:
    return _here(holder) and _alive(holder["pid"])


def _who(holder: dict) -> str:
    return (f"by {holder.get('command', '?')} (pid {holder.get('pid', '?')}, user {holder.get('user', '?')} "
            f"on host {holder.get('host', '?')}) since {holder.get('since', '?')}")


def _held(target, provider: str | None, path: Path, holder: dict | None, problem: str | None,
          stale: bool, timeout: float) -> LockHeld:
    what = f"the {provider} {os.fspath(target)}" if provider else os.fspath(target)
    if holder is None:
        return LockHeld(f"{what} is locked, but its lock file {path} cannot be read ({problem}); "
                        f"if no apply is running, remove {path} by hand")
    message = f"{what} is locked {_who(holder)}; lock ID {holder.get('id')}"
    if stale:
        message += (f". The lock is stale: process {holder.get('pid')} on this host is no longer running "
                    f"(it may have stopped mid-apply: check {os.fspath(target)}.journal). "
                    f"Break it with `reconciler force-unlock {holder.get('id')}`")
    elif timeout > 0:
        message += f" (waited {timeout:g} s)"
    return LockHeld(message, holder, stale)
