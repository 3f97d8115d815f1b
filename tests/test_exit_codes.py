"""Exit codes a script can trust: a usage error is 1 (2 means "changes"), a closed pipe ends quietly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.cli import main
from tests.conftest import EXAMPLES


@pytest.mark.parametrize("argv", [
    ["plan", "--no-such-flag"],
    ["plan", "--format", "yaml"],
    ["plan", "--comment-limit", "many"],
    ["no-such-command"],
    [],
    ["sandbox"],
])
def test_a_usage_error_exits_1_never_2(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "usage: reconciler" in err and "error:" in err


def test_help_and_version_still_exit_0(capsys):
    for argv in (["--help"], ["plan", "--help"], ["--version"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0


@pytest.mark.parametrize("argv", [
    ["validate", "--format", "json", *map(str, sorted(EXAMPLES.iterdir()))],
    ["plan", str(EXAMPLES / "costs"), "--today", "2021-05-10", "--format", "json"],
])
def test_a_closed_pipe_exits_quietly(argv):
    """`reconciler validate --format json | head -1`: the reader is gone before the first write."""
    child = subprocess.Popen([sys.executable, "-m", "reconciler", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.close()
    try:
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert err.decode() == ""
    assert child.returncode == 1


def _console(program: str) -> subprocess.CompletedProcess:
    """`program`, then the console script's `run()` with `argv`: what a user's `reconciler ...` does."""
    return subprocess.run([sys.executable, "-c", f"{program}\nfrom reconciler.cli import run\nrun()"],
                          capture_output=True, text=True, timeout=120, check=False)


PLAN = ["plan", str(EXAMPLES / "costs"), "--today", "2021-05-10", "--format", "json", "--detailed-exitcode"]


def test_the_console_script_ends_without_tearing_down_and_loses_no_output(capsys):
    """Nothing waits for the exit: the process ends at once (no object's finalizer runs), every byte written."""
    assert main(PLAN) == 2
    expected = capsys.readouterr().out
    ended = _console(f"import sys\nclass Torn:\n    def __del__(self): print('torn down', file=sys.stderr)\n"
                     f"kept = Torn()\nsys.argv = ['reconciler', *{PLAN!r}]")
    assert ended.returncode == 2
    assert ended.stdout == expected and len(expected) > 1000
    assert "torn down" not in ended.stderr


def test_the_console_script_makes_no_sweep_of_the_run_s_objects_before_it_ends():
    """The collector, paused for the command, is not turned back on to walk every object the run left."""
    ended = _console("import gc, sys\nimport reconciler.cli as cli\nreal = cli.main\n"
                     "def main():\n"
                     "    gc.callbacks.append(lambda phase, info: phase == 'start' and print('swept', file=sys.stderr))\n"
                     "    return real()\n"
                     f"cli.main = main\nsys.argv = ['reconciler', *{PLAN!r}]")
    assert ended.returncode == 2 and ended.stdout.startswith("{")
    assert "swept" not in ended.stderr


@pytest.mark.parametrize("waiting", [
    "import atexit\natexit.register(lambda: print('at exit', file=sys.stderr))",
    "import threading\nthreading.Thread(target=lambda: (time.sleep(0.5), print('at exit', file=sys.stderr))).start()",
])
def test_the_console_script_exits_as_usual_when_something_waits(waiting):
    """An atexit function or another thread still runs: then the interpreter's own exit, which waits for them."""
    ended = _console(f"import sys, time\n{waiting}\nsys.argv = ['reconciler', *{PLAN!r}]")
    assert ended.returncode == 2
    assert ended.stderr.endswith("at exit\n")
    assert ended.stdout.startswith("{")


def test_a_profiled_run_ends_as_usual_and_the_profiler_writes_its_numbers(tmp_path):
    numbers = tmp_path / "plan.prof"
    ended = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(numbers), "-m", "reconciler", *PLAN],
                           capture_output=True, text=True, timeout=120, check=False)
    assert ended.stdout.startswith("{")  # the exit code is cProfile's
    assert numbers.stat().st_size > 1000
