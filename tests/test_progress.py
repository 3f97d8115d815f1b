"""The progress bar: on a terminal for a long run; never in CI, in piped output or on stdout."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.progress import THRESHOLD, progress, wanted

LABEL = "loading customer files"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


def test_a_bar_only_for_a_long_run_on_a_terminal_outside_ci(no_ci, monkeypatch):
    assert wanted(THRESHOLD + 1, Terminal())
    assert not wanted(THRESHOLD, Terminal())  # a short run
    assert not wanted(THRESHOLD + 1, io.StringIO())  # piped
    monkeypatch.setenv("CI", "true")
    assert not wanted(THRESHOLD + 1, Terminal())


def test_rich_is_not_imported_when_no_bar_is_drawn():
    code = ("import sys; from reconciler.progress import progress\n"
            "with progress(10_000, 'x') as advance: advance()\n"
            "print('rich' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


CUSTOMER = """customer: {name}
company: Customer {name}
contacts:
  - {{name: Jo, email: jo@{name}.example}}
pbxes:
  {name}:
    model: cloud
    region: eu-central
    term: 1y
    licenses: {{essential: 5}}
"""


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big")
    (root / "customers").mkdir()
    for n in range(THRESHOLD + 50):
        (root / "customers" / f"c{n:04}.yaml").write_text(CUSTOMER.format(name=f"c{n:04}"))
    return root


def _validate_on_a_terminal(repo: Path, env: dict) -> tuple[str, str, int]:
    """Run `reconciler validate` with stderr on a pseudo-terminal and stdout piped; what each received."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "reconciler", "validate", str(repo), "--format", "json"],
                               stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        seen += chunk
    out = process.stdout.read().decode()
    code = process.wait(timeout=60)
    os.close(master)
    return out, seen.decode(errors="replace"), code


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    return {**env, "COLUMNS": "100", "TERM": "xterm", **extra}


def test_a_terminal_shows_the_bar_on_stderr_and_stdout_stays_clean(big_repo):
    out, terminal, code = _validate_on_a_terminal(big_repo, _env())
    assert code == 0
    assert LABEL in terminal
    assert out.lstrip().startswith("{") and LABEL not in out and '"errors": 0' in out


def test_ci_gets_no_bar_even_on_a_terminal(big_repo):
    out, terminal, code = _validate_on_a_terminal(big_repo, _env(CI="true"))
    assert code == 0
    assert LABEL not in terminal and '"errors": 0' in out


def test_piped_stderr_gets_no_bar(big_repo):
    result = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(big_repo)],
                            capture_output=True, text=True, env=_env())
    assert result.returncode == 0
    assert LABEL not in result.stderr and f"{THRESHOLD + 50} customers: all valid" in result.stderr
