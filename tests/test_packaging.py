"""The wheel a partner installs works on its own: built, installed into a fresh environment, run.

No test extras are installed there, so an import that only a test dependency satisfies
(deepdiff on apply's refusal of a stale plan, once) fails here and not on a partner's
machine. The version the command reports is the package metadata's, from one place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import reconciler
from tests.conftest import EXAMPLES, ROOT

BUILD_TIMEOUT = 600  # seconds: the build backend and the dependencies come from the package index


def run(*command, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env={**env, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin directory of a fresh virtual environment with only the wheel and its dependencies."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "reconciler", source / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--quiet",
                "--wheel-dir", work / "dist", source, timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("reconciler-*.whl")
    venv.EnvBuilder(with_pip=True).create(work / "env")
    bin_dir = work / "env" / ("Scripts" if os.name == "nt" else "bin")
    done = run(bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "--quiet", wheel,
               timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return bin_dir


def test_the_installed_command_reports_the_metadata_version(installed):
    done = run(installed / "reconciler", "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"reconciler {reconciler.__version__}"
    metadata = run(installed / "python", "-c", "import importlib.metadata as m; print(m.version('reconciler'))")
    assert metadata.stdout.strip() == reconciler.__version__
    info = run(installed / "python", "-c", "import importlib.metadata as m, json; d = m.metadata('reconciler'); "
                                           "print(json.dumps({k: d.get_all(k) for k in ('License-Expression', "
                                           "'Classifier', 'Project-URL', 'Author')}))")
    fields = json.loads(info.stdout)
    assert fields["License-Expression"] and fields["Classifier"] and fields["Project-URL"] and fields["Author"]


def test_the_installed_command_plans_an_example(installed, tmp_path):
    done = run(installed / "reconciler", "-C", EXAMPLES / "costs", "plan", "--today", "2020-08-14",
               "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"]


def test_the_installed_command_refuses_a_stale_saved_plan_and_says_what_changed(installed, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "last-day-decrease", repo)
    (repo / "reconciler.yaml").write_text("provider:\n  kind: sandbox\n")
    today = "2026-11-30"
    command = installed / "reconciler"
    assert run(command, "sandbox", "load", "state.yaml", cwd=repo).returncode == 0
    assert run(command, "plan", "--today", today, "--out", "plan.json", cwd=repo).returncode == 0
    assert run(command, "apply", "plan.json", "--today", today, cwd=repo).returncode == 0
    stale = run(command, "apply", "plan.json", "--today", today, cwd=repo)
    assert stale.returncode == 1
    assert "the plan is stale: the portal changed since it was made" in stale.stderr
    assert "umbrella/umbrella: licenses.business 5 -> 10" in stale.stderr  # deepdiff's field-by-field account
