"""The benchmark runner works end to end on a small repo (N=100). It asserts what is printed, never a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

pytest.importorskip("yaml", reason="the floor needs PyYAML")


def test_generated_repo_is_valid_and_plans_every_status(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from generate import TODAY, generate
    finally:
        sys.path.remove(str(BENCHMARKS))
    from reconciler.validate import validate_paths
    from reconciler.workflow import PlanRequest, make_plan

    generate(300, tmp_path)
    assert validate_paths([str(tmp_path)]).diagnostics == []
    result = make_plan(PlanRequest(paths=[str(tmp_path)], state=str(tmp_path / "state.yaml"), today=TODAY))
    summary = result.document["summary"]
    assert not result.has_errors
    assert summary["ready"] and summary["blocked"] and summary["manual"]


def test_runner_prints_the_table_and_the_ratios(tmp_path):
    out = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--sizes", "100", "--repeats", "1",
                          "--apply", "20", "--no-compile", "--work", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "| N | validate s | validate RSS MB | plan s | plan RSS MB | floor s | floor RSS MB | plan/floor |" in text
    assert "\n| 100 | " in text
    assert "ratio plan/floor N=100: " in text
    assert "apply: 20 ready steps in " in text
    assert "machine: " in text
