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
