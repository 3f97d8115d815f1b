"""action.yml: the composite GitHub Action, valid for GitHub and doing what its inputs say.

GitHub's own runner is not here, so the test checks the file against the schema of actions
(check-jsonschema's vendored copy of SchemaStore's) and runs the action's command step, the
script itself, with the variables the runner would set, against an example repo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, ROOT

ACTION = ROOT / "action.yml"


def action() -> dict:
    return YAML(typ="safe").load(ACTION.read_text(encoding="utf-8"))


def test_action_yml_is_a_valid_github_action():
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions",
                           str(ACTION)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_interface_is_the_documented_one():
    spec = action()
    assert spec["runs"]["using"] == "composite"
    inputs = spec["inputs"]
    assert set(inputs) == {"command", "directory", "args", "python-version"}
    assert (inputs["directory"]["default"], inputs["args"]["default"], inputs["python-version"]["default"]) == (
        ".", "", "3.11")
    assert set(spec["outputs"]) == {"exitcode"}


def run_step(tmp_path: Path, command: str, directory: str, args: str) -> tuple[int, str, str]:
    """The action's command step as the runner runs it: bash, the inputs as variables, GITHUB_OUTPUT a file."""
    (step,) = [s for s in action()["runs"]["steps"] if s.get("id") == "run"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {**os.environ, "RECONCILER_COMMAND": command, "RECONCILER_DIRECTORY": directory,
           "RECONCILER_ARGS": args, "GITHUB_OUTPUT": str(output), "NO_COLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    return done.returncode, output.read_text(), done.stdout + done.stderr


def test_a_plan_with_changes_passes_and_says_exit_code_2(tmp_path):
    code, output, printed = run_step(tmp_path, "plan", str(EXAMPLES.relative_to(ROOT) / "costs"),
                                     "--today 2020-08-14 --detailed-exitcode")
    assert code == 0, printed
    assert output == "exitcode=2\n"
    assert "reconciler plan for 2020-08-14" in printed


def test_an_invalid_repo_fails_the_step_with_exit_code_1(tmp_path):
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "acme.yaml").write_text("customer: acme\ncompny: Acme\n")
    code, output, printed = run_step(tmp_path, "validate", str(tmp_path), "")
    assert code == 1 and output == "exitcode=1\n"
    assert "compny" in printed


@pytest.mark.parametrize("command", ["destroy", "plan; rm -rf ."])
def test_only_the_four_commands_are_run(tmp_path, command):
    code, output, printed = run_step(tmp_path, command, ".", "")
    assert code == 1 and output == ""
    assert "command must be validate, plan, apply, show or install" in printed


def test_install_only_installs_and_says_the_version_for_the_steps_that_run_reconciler_themselves(tmp_path):
    code, output, printed = run_step(tmp_path, "install", "no-such-directory", "--nothing-runs")
    assert (code, output) == (0, "exitcode=0\n"), printed
    assert printed.startswith("reconciler ") and "no-such-directory" not in printed


def test_pip_downloads_are_cached_under_a_key_that_changes_with_the_dependencies(tmp_path):
    steps = action()["runs"]["steps"]
    (key_step,) = [s for s in steps if s.get("id") == "cache-key"]
    (cache,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    assert steps.index(key_step) < steps.index(cache) < [s.get("name") for s in steps].index("Install reconciler")
    assert cache["with"] == {"path": "~/.cache/pip", "key": "${{ steps.cache-key.outputs.key }}"}

    def key(pyproject: str) -> str:
        (tmp_path / "action").mkdir(exist_ok=True)
        (tmp_path / "action" / "pyproject.toml").write_text(pyproject)
        output = tmp_path / "github_output"
        output.write_text("")
        env = {**os.environ, "ACTION_PATH": str(tmp_path / "action"), "RUNNER_OS": "Linux",
               "GITHUB_OUTPUT": str(output), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        subprocess.run(["bash", "-e", "-c", key_step["run"]], env=env, check=True, timeout=60)
        return output.read_text()

    first = key((ROOT / "pyproject.toml").read_text())
    assert first.startswith(f"key=reconciler-pip-Linux-{sys.version.split()[0]}-") and first.endswith("\n")
    assert key((ROOT / "pyproject.toml").read_text()) == first
    assert key((ROOT / "pyproject.toml").read_text() + "\n# another dependency\n") != first
