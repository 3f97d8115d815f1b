"""apply end to end: the CLI as a subprocess, on a sandbox in a temp dir, as a partner runs it.

The whole story for every example (load the portal's state, apply, plan again: nothing
ready is left), crashes injected before and after every step followed by a re-run (in
this process, through apply's crash point; one real kill -9 keeps the stale lock's path
honest), two applies at once, and saved plans that are stale, altered or for another date.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.apply.command import ApplyRequest, apply_command
from scripts.render_examples import ROOT, as_of, examples

EXAMPLES = {example.name: example for example in examples()}


def reconciler(repo: Path, *args: str, env: dict | None = None, check: bool = False,
               module: str = "reconciler") -> subprocess.CompletedProcess:
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=repo, capture_output=True, text=True,
                            env=environment, stdin=subprocess.DEVNULL, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def killed(repo: Path, moment: str, index: int, today: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A real apply process that dies at step `index` (tests.crash_runner): os._exit, or a real SIGTERM."""
    return reconciler(repo, moment, str(index), today, env={"PYTHONPATH": str(ROOT), **(env or {})},
                      module="tests.crash_runner")


class Killed(BaseException):
    """The process "died" at a crash point: not an error apply handles, so nothing after it is journaled."""


def crashed_in_process(repo: Path, moment: str, index: int, today: str, plan_file: str | None = None) -> None:
    """An apply in this process that stops dead at step `index`, `before` the portal gets it or `after`."""
    def crash_point(when: str, step) -> None:
        if step.id == index and when == moment:
            raise Killed

    request = ApplyRequest(plan_file=plan_file and str(repo / plan_file), repo=str(repo), today=today,
                           auto_approve=True)
    with pytest.raises(Killed):
        apply_command(request, crash_point=crash_point)


def sandbox_repo(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A copy of the example that uses the sandbox (the default provider), loaded with its state."""
    repo = tmp_path / name
    shutil.copytree(EXAMPLES[name], repo)
    config = (repo / "reconciler.yaml").read_text()
    (repo / "reconciler.yaml").write_text(config.replace("kind: snapshot", "kind: sandbox")
                                          .replace("path: state.yaml", "path: .reconciler/sandbox.db"))
    reconciler(repo, "sandbox", "load", "state.yaml", check=True)
    return repo, as_of(EXAMPLES[name])


def planned(repo: Path, today: str) -> dict:
    return json.loads(reconciler(repo, "plan", "--today", today, "--format", "json").stdout)


def ready(document: dict) -> list[str]:
    return [f"{s['action']} {s['customer']}/{s['pbx']}" for s in document["steps"] if s["status"] == "ready"]


def portal(repo: Path, today: str) -> str:
    return reconciler(repo, "sandbox", "show", "--today", today, check=True).stdout


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_whole_story_converges(tmp_path, name):
    repo, today = sandbox_repo(tmp_path, name)
    before = planned(repo, today)
    result = reconciler(repo, "apply", "--today", today, "--auto-approve")
    assert result.returncode == (1 if any(d["severity"] == "error" for d in before["diagnostics"]) else 0), \
        result.stdout + result.stderr
    if result.returncode == 0 and ready(before):
        assert "Apply complete:" in result.stdout
    after = planned(repo, today)
    assert ready(after) == [] or result.returncode == 1
    left = [(s["action"], s["status"]) for s in after["steps"]]
    assert left == [(s["action"], s["status"]) for s in before["steps"] if s["status"] != "ready"] or \
        result.returncode == 1


def test_apply_without_a_terminal_refuses_unless_auto_approved(tmp_path):
    repo, today = sandbox_repo(tmp_path, "term-change")
    result = reconciler(repo, "apply", "--today", today)
    assert result.returncode == 1
    assert "apply needs a confirmation and there is no terminal to ask on" in result.stderr
    assert ready(planned(repo, today)) != []  # nothing was changed


@pytest.mark.parametrize("name", ["term-change", "new-cloud-customer", "hwaas-orders-returns"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_at_any_step_then_apply_again_converges(tmp_path, name, when):
    base, today = sandbox_repo(tmp_path / "base", name)
    ready_ids = [s["id"] for s in planned(base, today)["steps"] if s["status"] == "ready"]
    reconciler(base, "apply", "--today", today, "--auto-approve", check=True)
    converged = portal(base, today)
    for index in ready_ids:
        repo, _ = sandbox_repo(tmp_path / f"{when}-{index}", name)
        crashed_in_process(repo, when, index, today)
        again = reconciler(repo, "apply", "--today", today, "--auto-approve")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "did not finish" in again.stderr
        assert ready(planned(repo, today)) == []
        assert _devices(portal(repo, today)) == _devices(converged)  # nothing ordered twice, nothing lost
        assert _licensed(portal(repo, today)) == _licensed(converged)


def unlock_after_crash(repo: Path) -> None:
    """A killed apply leaves its lock: the next apply says it is stale and how to break it; the user does."""
    refused = reconciler(repo, "apply", "--auto-approve")
    assert refused.returncode == 1 and "The lock is stale" in refused.stderr
    lock_id = refused.stderr.split("reconciler force-unlock ")[1].split("`")[0]
    reconciler(repo, "force-unlock", lock_id, check=True)


def _devices(text: str) -> list[str]:
    """Device lines less their serials, which the portal assigns: what and how many, per PBX."""
    return sorted(line.split("product:")[1].split(",")[0].strip() if "product:" in line else line.strip()
                  for line in text.splitlines() if "product:" in line or "billing:" in line)


def _licensed(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(("basic:", "essential:",
                                                                                    "business:", "premium:",
                                                                                    "service:", "term:"))]


def test_a_term_change_interrupted_at_zero_is_finished_first(tmp_path):
    repo, today = sandbox_repo(tmp_path, "term-change")
    assert killed(repo, "after", 1, today).returncode == 137  # a real kill -9 after step 1: the lock is left
    unlock_after_crash(repo)
    assert "status: deletion-scheduled" in portal(repo, today)
    document = planned(repo, today)
    assert [s["action"] for s in document["steps"]] == ["change-term", "add-licenses"]
    assert reconciler(repo, "apply", "--today", today, "--auto-approve").returncode == 0
    assert "status: active" in portal(repo, today)


def test_two_applies_at_once_one_waits_for_the_lock_and_fails(tmp_path):
    repo, today = sandbox_repo(tmp_path, "term-change")
    target = repo / ".reconciler" / "sandbox.db"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from reconciler.apply.lock import acquire\n"
                               f"with acquire({str(target)!r}, 'apply'):\n"
                               "    print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        blocked = reconciler(repo, "apply", "--today", today, "--auto-approve", "--lock-timeout", "1")
        assert time.monotonic() - started >= 1
        assert blocked.returncode == 1
        assert f"is locked by apply (pid {holder.pid}" in blocked.stderr and "since" in blocked.stderr
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: the lock is stale, reported with its ID, and can be broken
    stale = reconciler(repo, "apply", "--today", today, "--auto-approve")
    assert stale.returncode == 1 and "stale" in stale.stderr
    lock_id = json.loads((repo / ".reconciler" / "sandbox.db.lock").read_text())["id"]
    reconciler(repo, "force-unlock", lock_id, check=True)
    assert reconciler(repo, "apply", "--today", today, "--auto-approve").returncode == 0


def test_a_saved_plan_is_applied_once_and_refused_when_stale_altered_or_late(tmp_path):
    repo, today = sandbox_repo(tmp_path, "last-day-decrease")
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", check=True)

    altered = repo / "altered.json"
    data = json.loads((repo / "plan.json").read_text())
    data["steps"][0]["changes"]["licenses.business"][1] = 50
    altered.write_text(json.dumps(data))
    result = reconciler(repo, "apply", "altered.json", "--today", today)
    assert result.returncode == 1 and "the plan file was altered since it was saved" in result.stderr

    applied = reconciler(repo, "apply", "plan.json", "--today", today)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "1 + add-licenses umbrella/umbrella: done" in applied.stdout
    assert "blocked until 2026-12-01" in applied.stdout  # the decrease waits, listed at the end

    stale = reconciler(repo, "apply", "plan.json", "--today", today)
    assert stale.returncode == 1
    assert "the plan is stale: the portal changed since it was made" in stale.stderr
    assert "umbrella/umbrella: licenses.business 5 -> 10" in stale.stderr

    # last: reading the sandbox on a later date moves its clock, as time passes in a real portal
    late = reconciler(repo, "apply", "plan.json", "--today", "2026-12-01")
    assert late.returncode == 1 and "the plan was made for 2026-11-30, today is 2026-12-01" in late.stderr


def test_a_plan_made_before_the_desired_files_changed_is_refused(tmp_path):
    repo, today = sandbox_repo(tmp_path, "last-day-decrease")
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", check=True)
    customer = repo / "customers" / "umbrella.yaml"
    customer.write_text(customer.read_text().replace("business: 10", "business: 11"))
    result = reconciler(repo, "apply", "plan.json", "--today", today)
    assert result.returncode == 1 and "the desired-state files changed since it was made" in result.stderr


def test_the_snapshot_provider_is_read_only(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES["term-change"], repo)
    result = reconciler(repo, "apply", "--today", "2026-11-22", "--auto-approve")
    assert result.returncode == 1 and "the snapshot provider is read-only" in result.stderr


def test_a_saved_plan_interrupted_at_zero_licenses_is_resumed_by_running_it_again(tmp_path):
    """The reviewed plan, killed after 'remove every license': the same file finishes the chain (done steps skip)."""
    repo, today = sandbox_repo(tmp_path, "term-change")
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", check=True)
    crashed_in_process(repo, "after", 1, today, "plan.json")
    resumed = reconciler(repo, "apply", "plan.json", "--today", today)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "did not finish" in resumed.stderr
    assert "Apply complete: 2 done, 1 skipped (already carried out)." in resumed.stdout
    assert "remove-licenses globex/globex: skipped" in resumed.stdout  # the crashed run did it: not done twice
    assert reconciler(repo, "plan", "--today", today).stdout.rstrip().endswith(
        "No changes. The portal matches the desired state.")
