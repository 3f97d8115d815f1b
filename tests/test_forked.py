"""A forked child is an optimisation only: its bytes when it finished, None (do it here) otherwise."""

from __future__ import annotations

import os
import time

import pytest

from reconciler.forked import Child, cores

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def test_the_child_returns_what_its_work_made_while_the_parent_goes_on():
    parent = os.getpid()
    with Child(lambda: f"{os.getpid()} {os.getppid()}\n".encode() * 50_000) as child:  # more than a pipe holds
        here = sum(range(10_000))  # the parent's own work meanwhile
        data = child.result()
    lines = data.decode().splitlines()
    pid, ppid = map(int, lines[0].split())
    assert here == 49_995_000
    assert ppid == parent and pid != parent
    assert lines == [f"{pid} {parent}"] * 50_000


def test_a_child_that_fails_gives_no_result_so_the_caller_does_the_work_itself():
    def broken() -> bytes:
        raise ValueError("not here")

    with Child(broken) as child:
        assert child.result() is None


def test_work_that_returns_no_bytes_is_a_failure_and_empty_bytes_are_a_result():
    with Child(lambda: "text, not bytes") as child:  # type: ignore[arg-type, return-value]
        assert child.result() is None
    with Child(lambda: b"") as child:
        assert child.result() == b""


def test_leaving_the_block_without_the_result_stops_the_child_and_reaps_it():
    with Child(lambda: time.sleep(60) or b"late") as child:
        pid = child.pid
    assert child.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_the_child_does_not_flush_what_the_parent_has_buffered(capfd):
    import sys

    sys.stdout.write("once")  # buffered in the parent when the copy is made
    with Child(lambda: b"ok") as child:
        assert child.result() == b"ok"
    sys.stdout.flush()
    assert capfd.readouterr().out == "once"


def test_cores_counts_the_processors_this_process_may_use():
    assert 1 <= cores() <= (os.cpu_count() or 1)


def test_no_child_is_made_while_another_thread_runs():
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with Child(lambda: b"copied with a thread") as child:
            assert child.pid is None
            assert child.result() is None
    finally:
        stop.set()
        other.join()
