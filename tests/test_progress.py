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
    return _run_on_a_terminal([sys.executable, "-m", "reconciler", "validate", str(repo), "--format", "json"], env)


def _run_on_a_terminal(command: list[str], env: dict) -> tuple[str, str, int]:
    """Run `command` with stderr on a pseudo-terminal and stdout piped; what each received, and the exit code."""
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    received = {master: b"", process.stdout.fileno(): b""}
    open_ends = set(received)
    while open_ends:  # read both as they come, so that neither side can block the process
        ready, _, _ = select.select(list(open_ends), [], [], 60)
        if not ready:
            break
        for end in ready:
            try:
                chunk = os.read(end, 65536)
            except OSError:  # the terminal closed: the process is done with it
                chunk = b""
            if chunk:
                received[end] += chunk
            else:
                open_ends.discard(end)
    code = process.wait(timeout=60)
    os.close(master)
    return received[process.stdout.fileno()].decode(), received[master].decode(errors="replace"), code


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


STATE_ENTRY = """  {name}:
    company: Customer {name}
    contacts: [{{name: Jo, email: jo@{name}.example}}]
    pbxes:
      {name}:
        serial: SW-{serial:08}
        model: cloud
        region: eu-central
        term: 1y
        activated_on: 2025-01-10
        expires_on: 2027-01-10
        licenses: {{essential: 4}}
"""


def test_apply_shows_a_bar_over_its_steps_on_a_terminal(big_repo, tmp_path):
    """Every customer of big_repo has 4 essential licenses in the sandbox and wants 5: one ready step each."""
    names = sorted(p.stem for p in (big_repo / "customers").glob("*.yaml"))
    state = tmp_path / "state.yaml"
    state.write_text("as_of: 2026-11-18\ncustomers:\n"
                     + "".join(STATE_ENTRY.format(name=name, serial=n) for n, name in enumerate(names)))
    repo = tmp_path / "repo"
    (repo / "customers").mkdir(parents=True)
    for name in names:
        (repo / "customers" / f"{name}.yaml").write_text((big_repo / "customers" / f"{name}.yaml").read_text())
    command = [sys.executable, "-m", "reconciler"]
    subprocess.run([*command, "sandbox", "load", str(state), "--repo", str(repo)], check=True, capture_output=True)
    out, terminal, code = _run_on_a_terminal(
        [*command, "apply", "--auto-approve", "--today", "2026-11-18", "--repo", str(repo)], _env())
    assert code == 0, terminal
    assert "applying steps" in terminal
    assert f"Apply complete: {len(names)} done." in out and "applying steps" not in out
