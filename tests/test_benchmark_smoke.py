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


def test_runner_prints_every_target_with_its_ratio_and_verdict(tmp_path):
    out = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--no-compile", "--work", str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "machine: " in text
    assert "| N | input MB | validate s | plan s | plan RSS MB | floor s (GC paused) | 2 processes s |" in text
    assert "\n| 50 | " in text
    for target in ("1", "2", "3", "4", "5", "6"):
        rows = [line for line in text.splitlines() if line.startswith(f"| T{target} | ")]
        assert rows, f"target {target} is not printed"
        for row in rows:
            assert row.rstrip(" |").endswith(("PASS", "FAIL", "not measured")), row
    assert "| T2 | N=1 plan --state, median wall | " in text
    assert "| T6 | apply 30 steps / durable WAL floor | " in text
    assert "apply: 30 ready steps: steps phase " in text
    assert " PASS, " in text and " FAIL, " in text
