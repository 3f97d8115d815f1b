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


def test_a_baseline_timed_in_the_same_run_is_judged_at_every_n_on_time_and_memory():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from targets import evaluate
    finally:
        sys.path.remove(str(BENCHMARKS))
    rows = [{"n": n, "input_mb": 1.0, "plan": plan, "validate": (1.0, 100.0), "floor": (1.0, 1.0),
             "floor2": (1.0, 1.0), "baseline": {"plan": (1.0, 100.0), "validate": (1.0, 100.0)}}
            for n, plan in ((1, (1.05, 100.0)), (1000, (1.2, 100.0)), (10000, (1.0, 150.0)))]
    verdicts = {r["what"]: r["verdict"] for r in evaluate(rows, None, None, []) if r["target"] == "R"}
    assert verdicts == {
        "N=1 validate / baseline, wall": "PASS", "N=1 validate / baseline, peak RSS": "PASS",
        "N=1 plan / baseline, wall": "PASS", "N=1 plan / baseline, peak RSS": "PASS",
        "N=1000 validate / baseline, wall": "PASS", "N=1000 validate / baseline, peak RSS": "PASS",
        "N=1000 plan / baseline, wall": "FAIL", "N=1000 plan / baseline, peak RSS": "PASS",
        "N=10000 validate / baseline, wall": "PASS", "N=10000 validate / baseline, peak RSS": "PASS",
        "N=10000 plan / baseline, wall": "PASS", "N=10000 plan / baseline, peak RSS": "FAIL"}
    without = evaluate([{**rows[0], "baseline": None}], None, None, [])
    assert not [r for r in without if r["target"] == "R"]
