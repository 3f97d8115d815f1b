"""Work done in a forked copy of this process while this one goes on: a run's second core.

`Child(work)` forks; the copy runs `work()` and leaves its bytes in an unlinked temporary
file, then ends with `os._exit` (no atexit handler, no flush of this process's buffers:
the copy prints nothing). `result()` waits for it and returns those bytes, or None when the
copy failed or could not be made: the caller then does the work itself, so a child is an
optimisation only and never changes what a run computes or reports.

Library code does not decide to fork: callers take a `workers` count (1 by default) that
the command line sets once, at its edge (`cores()` there). No child is made while another
thread runs (a fork copies only the calling thread: a progress bar's or a lease's lock could
be held in the copy forever); `result()` is then None. A child is stopped when the caller leaves its
`with` block without asking for the result (an error, Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path


def cores() -> int:
    """The processors this process may run on; 1 where there is no fork (every run is then one process)."""
    if not hasattr(os, "fork"):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def file_size(path: str | Path) -> int:
    """A file's bytes, the measure of the work of reading it (0 when it cannot be read: its reader says why)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class Child:
    """`work()` running in a forked copy of this process; `result()` is its bytes, or None (do it here)."""

    def __init__(self, work: Callable[[], bytes]):
        self.pid: int | None = None
        self._out = None
        if not hasattr(os, "fork") or threading.active_count() > 1:  # a fork copies no other thread: none may run
            return
        import tempfile  # only a run that forks pays for it (start-up)

        try:
            self._out = tempfile.TemporaryFile()
            self.pid = os.fork()
        except OSError:  # no temporary file, no process left: the caller does the work itself
            self.pid = None
            return
        if self.pid == 0:
            _run(work, self._out.fileno())

    def result(self) -> bytes | None:
        """Wait for the copy; its bytes when it finished its work, else None."""
        if self.pid is None or self._out is None:
            return None
        pid, self.pid = self.pid, None
        try:
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                return None
            self._out.seek(0)
            return self._out.read()
        finally:
            self._out.close()

    def stop(self) -> None:
        """End the copy without its result (the caller no longer needs it)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.result()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _run(work: Callable[[], bytes], fd: int) -> None:
    """The copy's whole life: do the work, write its bytes, end without running anything of the parent's."""
    status = 1
    try:
        data = memoryview(work())
        while data:
            data = data[os.write(fd, data):]
        status = 0
    except BaseException:  # noqa: BLE001 - any failure means "no result": the parent does the work itself
        pass
    finally:
        os._exit(status)
