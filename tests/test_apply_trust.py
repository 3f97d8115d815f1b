"""Trust in the sandbox and apply: reads change nothing, a run's work is its own, locks and signals are respected.

The CLI as a subprocess on a sandbox in a temp dir, as a partner runs it. Each test is a
way a partner would lose or double work without noticing until the invoice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_apply_e2e import crashed_in_process, killed, portal, reconciler, sandbox_repo

LATER = "2026-12-30"  # a month after the examples' dates: scheduled PBXs are deleted by then


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sandbox_file(repo: Path) -> Path:
    return repo / ".reconciler" / "sandbox.db"


# 1. reads are read-only ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cloud-decommission", "term-change"])
def test_plan_show_export_and_validate_never_write_the_sandbox(tmp_path, name):
    repo, today = sandbox_repo(tmp_path, name)
    before = digest(sandbox_file(repo))
    files = sorted(p.name for p in sandbox_file(repo).parent.iterdir())
    at_today = portal(repo, today)
    for when in (today, LATER, "2027-06-01"):
        reconciler(repo, "plan", "--today", when, check=True)
        reconciler(repo, "sandbox", "show", "--today", when, check=True)
        reconciler(repo, "export", "--today", when, "--out", str(tmp_path / f"export-{when}"), check=True)
        reconciler(repo, "validate", check=True)
        assert digest(sandbox_file(repo)) == before
    assert sorted(p.name for p in sandbox_file(repo).parent.iterdir()) == files  # no journal or lock left either
    assert portal(repo, today) == at_today  # no date was locked out, nothing was deleted
    assert reconciler(repo, "apply", "--today", today, "--auto-approve").returncode == 0


def test_a_what_if_plan_a_month_ahead_sees_the_deletion_without_doing_it(tmp_path):
    repo, today = sandbox_repo(tmp_path, "cloud-decommission")
    now, later = portal(repo, today), portal(repo, LATER)
    assert now != later  # the later read worked out renewals and the deletion schedule in memory
    assert portal(repo, today) == now
    advanced = reconciler(repo, "sandbox", "advance", "--to", LATER, check=True)
    assert f"clock to {LATER}" in advanced.stderr
    assert portal(repo, LATER) == later
    refused = reconciler(repo, "plan", "--today", today)
    assert refused.returncode == 1 and f"the sandbox portal's clock is at {LATER}" in refused.stderr


# 2. each run has its own tokens ------------------------------------------------------------------

def test_a_byte_identical_plan_made_later_is_carried_out_again(tmp_path):
    """Apply a change, undo it in the portal, plan the same change again: the new plan is new work."""
    repo, _ = sandbox_repo(tmp_path, "last-day-decrease")
    today = "2026-12-02"  # not the last day of a month: the decrease may go too
    customer = repo / "customers" / "umbrella.yaml"
    wanted = customer.read_text()
    reconciler(repo, "plan", "--today", today, "--out", "p1.json", check=True)
    first = reconciler(repo, "apply", "p1.json", "--today", today, check=True)
    assert "Apply complete: 2 done." in first.stdout
    customer.write_text(wanted.replace("essential: 20", "essential: 25").replace("business: 10", "business: 5"))
    reconciler(repo, "apply", "--today", today, "--auto-approve", check=True)  # the change undone
    customer.write_text(wanted)
    reconciler(repo, "plan", "--today", today, "--out", "p2.json", check=True)
    assert (repo / "p2.json").read_bytes() == (repo / "p1.json").read_bytes()
    again = reconciler(repo, "apply", "p2.json", "--today", today, check=True)
    assert "Apply complete: 2 done." in again.stdout and "skipped" not in again.stdout
    shown = portal(repo, today)
    assert "essential: 20" in shown and "business: 10" in shown
    tokens = [r["token"] for r in map(json.loads, (repo / ".reconciler" / "sandbox.db.journal").read_text()
                                      .splitlines()) if r["type"] == "run-start"]
    assert len(tokens) == len(set(tokens)) == 3


# 3, 5, 12. locks ---------------------------------------------------------------------------------

HOLDER = ("import sys, time; from reconciler.apply.lock import acquire\n"
          "with acquire(sys.argv[1], 'apply'):\n"
          "    print('held', flush=True); sys.stdin.read()")


@pytest.fixture
def held(tmp_path):
    """A sandbox repo whose lock a live apply holds, with that apply's run under way in the journal."""
    repo, today = sandbox_repo(tmp_path, "hwaas-orders-returns")
    target = sandbox_file(repo).resolve()
    with open(f"{target}.journal", "a") as journal:  # the holder's run has started: no run-end yet
        journal.write(json.dumps({"type": "run-start", "run": "r1", "plan": "interactive", "token": "t",
                                  "steps": 1, "at": "2026-11-22T10:00:00Z"}) + "\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield repo, today, holder
    holder.stdin.close()
    holder.wait(timeout=10)


def test_a_lock_held_by_a_live_apply_is_not_broken_and_nothing_is_ordered_twice(held):
    repo, today, holder = held
    lock_id = json.loads((sandbox_file(repo).parent / "sandbox.db.lock").read_text())["id"]
    refused = reconciler(repo, "force-unlock", lock_id)
    assert refused.returncode == 1
    assert f"process {holder.pid} is still running on this host" in refused.stderr and "--force" in refused.stderr
    blocked = reconciler(repo, "apply", "--today", today, "--auto-approve")
    assert blocked.returncode == 1 and "is locked by apply" in blocked.stderr
    assert "WorkForce" in reconciler(repo, "plan", "--today", today).stdout  # not ordered behind the holder


def test_an_apply_waiting_for_a_live_lock_does_not_say_the_other_run_crashed(held):
    repo, today, _ = held
    waited = reconciler(repo, "apply", "--today", today, "--auto-approve", "--lock-timeout", "0.3")
    assert waited.returncode == 1 and "is locked by apply" in waited.stderr
    assert "did not finish" not in waited.stderr


@pytest.mark.parametrize("action", [["load", "state.yaml"], ["reset"], ["advance", "--to", "2026-12-01"]])
def test_sandbox_load_reset_and_advance_refuse_while_an_apply_runs(held, action):
    repo, _, holder = held
    before = digest(sandbox_file(repo))
    refused = reconciler(repo, "sandbox", *action)
    assert refused.returncode == 1 and f"is locked by apply (pid {holder.pid}" in refused.stderr
    assert digest(sandbox_file(repo)) == before


# 4. SIGTERM --------------------------------------------------------------------------------------

def test_sigterm_finishes_the_step_journals_it_releases_the_lock_and_exits_143(tmp_path):
    repo, today = sandbox_repo(tmp_path, "term-change")
    stopped = killed(repo, "sigterm", 1, today)  # a real SIGTERM, right after step 1 was carried out
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stdout + stopped.stderr
    assert "Apply stopped by SIGTERM between two steps" in stopped.stdout and "Done: 1. Not run: 2-3." in \
        stopped.stdout
    assert not (sandbox_file(repo).parent / "sandbox.db.lock").exists()
    records = [json.loads(line) for line in (sandbox_file(repo).parent / "sandbox.db.journal").read_text()
               .splitlines()]
    assert [r["type"] for r in records][-3:] == ["step-start", "step-done", "run-end"]
    assert records[-1]["outcome"] == "interrupted"
    again = reconciler(repo, "apply", "--today", today, "--auto-approve")  # no lock to break, nothing in doubt
    assert again.returncode == 0 and "did not finish" not in again.stderr, again.stdout + again.stderr


# 6. a missing, empty or damaged sandbox ----------------------------------------------------------

def _drop_table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE devices")


def _bad_value(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE pbxes SET activated_on = 'yesterday'")


DAMAGE = {
    "missing": lambda path: path.unlink(),
    "empty": lambda path: path.write_bytes(b""),
    "not-a-sandbox": lambda path: path.write_text("a note, not a database\n" * 50),
    "torn": lambda path: path.write_bytes(path.read_bytes()[:1500]),
    "missing-table": _drop_table,
    "bad-value": _bad_value,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_missing_empty_or_damaged_sandbox_stops_every_command(tmp_path, damage):
    repo, today = sandbox_repo(tmp_path, "new-cloud-customer")
    path = sandbox_file(repo)
    DAMAGE[damage](path)
    left = path.read_bytes() if path.exists() else None
    for command in (["plan", "--today", today], ["sandbox", "show", "--today", today],
                    ["export", "--today", today, "--out", "out"], ["apply", "--today", today, "--auto-approve"]):
        result = reconciler(repo, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(path) in errors[0] and "sandbox load" in errors[0] \
            and "sandbox reset" in errors[0], (command, result.stderr)
        assert (path.read_bytes() if path.exists() else None) == left  # nothing written, nothing created
    reconciler(repo, "sandbox", "load", "state.yaml", check=True)  # the way back
    assert reconciler(repo, "plan", "--today", today).returncode == 0


def test_a_first_use_without_a_file_says_the_sandbox_is_empty_and_how_to_fill_it(tmp_path):
    repo, today = sandbox_repo(tmp_path, "new-cloud-customer")
    for leftover in sandbox_file(repo).parent.iterdir():  # the sandbox's files, and the re-plan cache's folder
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    first = reconciler(repo, "plan", "--today", today, check=True)
    assert "does not exist yet, so it reads as an empty portal" in first.stderr
    assert "reconciler sandbox load STATE.yaml" in first.stderr
    assert not sandbox_file(repo).exists()


# 8. a saved plan cannot be forged ----------------------------------------------------------------

def forge(repo: Path, edit) -> str:
    """The saved plan edited by `edit`, its checksum recomputed as a forger would: written to forged.json."""
    from reconciler.plan.saved import CHECKSUM, checksum

    data = json.loads((repo / "plan.json").read_text())
    edit(data)
    data[CHECKSUM] = checksum(data)
    (repo / "forged.json").write_text(json.dumps(data))
    return "forged.json"


def _order_500(data):
    data["steps"][0]["changes"]["quantity"] = 500


def _order_twice(data):
    data["steps"].append({**data["steps"][0], "id": len(data["steps"]) + 1})


def _foreign_customer(data):
    data["steps"][0] = {**data["steps"][0], "customer": "wayne", "pbx": "wayne"}


FORGERIES = {
    "500 devices": (_order_500, "step 1: changes.quantity is 500 in the file, 2 as planned"),
    "an order twice": (_order_twice, "step 5: is in the file, not in the planner's plan"),
    "a customer not in the repo": (_foreign_customer, 'step 1: customer is "wayne" in the file, "stark" as planned'),
}

MALFORMED = {
    "depends_on": lambda data: data["steps"][0].update(depends_on="step one"),
    "action": lambda data: data["steps"][0].update(action="delete-everything"),
    "status": lambda data: data["steps"][0].update(status="approved"),
    "cost": lambda data: data["steps"][0].update(cost={"one_off": []}),
    "steps": lambda data: data.update(steps={"1": "order"}),
    "id": lambda data: data["steps"][0].update(id="first"),
    "recorded state": lambda data: data.update(recorded_state={"customers": 5}),
}


@pytest.fixture(scope="module")
def saved_order(tmp_path_factory):
    repo, today = sandbox_repo(tmp_path_factory.mktemp("forged"), "hwaas-orders-returns")
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", check=True)
    return repo, today


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_plan_with_a_recomputed_checksum_is_refused_with_the_difference(saved_order, forgery):
    repo, today = saved_order
    edit, difference = FORGERIES[forgery]
    before = digest(sandbox_file(repo))
    refused = reconciler(repo, "apply", forge(repo, edit), "--today", today)
    assert refused.returncode == 1 and "it was edited by hand; nothing was applied" in refused.stderr
    assert difference in refused.stderr, refused.stderr
    assert digest(sandbox_file(repo)) == before


@pytest.mark.parametrize("field", sorted(MALFORMED))
def test_a_malformed_step_is_refused_before_anything_runs_never_a_traceback(saved_order, field):
    repo, today = saved_order
    before = digest(sandbox_file(repo))
    refused = reconciler(repo, "apply", forge(repo, MALFORMED[field]), "--today", today)  # no Traceback: asserted
    assert refused.returncode == 1 and "the plan file" in refused.stderr and "plan again" in refused.stderr
    assert digest(sandbox_file(repo)) == before


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.yaml", "customers/../../outside.yaml"])
def test_a_forged_plan_naming_a_file_outside_the_repo_reads_nothing_of_it(saved_order, name):
    # a saved plan can come with a pull request: the files it names are hashed and planned again
    repo, today = saved_order
    (repo.parent / "outside.yaml").write_text("customer: secret\ncompany: SECRET-TOKEN-123\n")
    before = digest(sandbox_file(repo))
    refused = reconciler(repo, "apply", forge(repo, lambda data: data.update(desired_files=[name])), "--today", today)
    assert refused.returncode == 1 and "names a desired-state file" in refused.stderr, refused.stderr
    assert "SECRET-TOKEN-123" not in refused.stdout + refused.stderr and "root:x:" not in refused.stderr
    assert digest(sandbox_file(repo)) == before


def test_the_genuine_plan_still_applies(saved_order):
    repo, today = saved_order
    applied = reconciler(repo, "apply", "plan.json", "--today", today)
    assert applied.returncode == 0 and "order-hwaas stark/stark: done" in applied.stdout, applied.stderr


# 10. fingerprints do not depend on how a path is spelled -----------------------------------------

@pytest.mark.parametrize("made_from", ["parent", "repo", "customer-file"])
def test_a_saved_plan_applies_however_the_repo_path_is_spelled(tmp_path, made_from):
    repo, today = sandbox_repo(tmp_path, "last-day-decrease")
    if made_from == "parent":
        reconciler(tmp_path, "plan", repo.name, "--today", today, "--out", f"{repo.name}/p.json", check=True)
    elif made_from == "repo":
        reconciler(repo, "plan", ".", "--today", today, "--out", "p.json", check=True)
    else:
        reconciler(repo, "plan", "customers/umbrella.yaml", "--today", today, "--out", "p.json", check=True)
    spellings = [(repo, str(repo)), (repo, "."), (repo, f"../{repo.name}"), (tmp_path, repo.name)]
    for cwd, spelled in spellings:
        plan = "p.json" if cwd == repo else f"{repo.name}/p.json"
        result = reconciler(cwd, "apply", plan, "--repo", spelled, "--today", today)
        assert "desired-state files changed" not in result.stderr, (spelled, result.stderr)
        assert "steps are not what the planner makes" not in result.stderr, (spelled, result.stderr)
        if (cwd, spelled) == spellings[0]:
            assert result.returncode == 0, result.stdout + result.stderr
        else:  # the first apply did the work: the portal moved on, which is the only refusal left
            assert result.returncode == 1 and "the portal changed since it was made" in result.stderr


# 11. the crash note promises only what works ------------------------------------------------------

def _crashed_after_the_first_order(tmp_path) -> tuple[Path, str]:
    repo, today = sandbox_repo(tmp_path, "hwaas-orders-returns")
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", check=True)
    crashed_in_process(repo, "after", 1, today, "plan.json")
    return repo, today


def test_after_a_crash_in_an_order_the_same_plan_resumes(tmp_path):
    """The resume proof carries out the run's steps on the sandbox itself: the ordered device has the serial the
    portal gave it, so the same saved plan resumes, and the order is not placed twice."""
    repo, today = _crashed_after_the_first_order(tmp_path)
    again = reconciler(repo, "apply", "plan.json", "--today", today)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "did not finish" in again.stderr and "skipped (already carried out)" in again.stdout
    assert portal(repo, today).count("product: WorkForce") == 6  # 3 rented, 1 CAPEX, 2 ordered once


def test_after_a_crash_the_note_says_plan_again_and_the_old_plan_is_refused_clearly(tmp_path):
    """The portal changed after the crash (a unit of stock, by hand): what the run did cannot be proven."""
    repo, today = _crashed_after_the_first_order(tmp_path)
    conn = sqlite3.connect(repo / ".reconciler" / "sandbox.db")
    with conn:
        conn.execute("UPDATE stock SET units = units + 1")
    conn.close()
    again = reconciler(repo, "apply", "plan.json", "--today", today)
    assert again.returncode == 1
    assert "did not finish" in again.stderr and "then plan again" in again.stderr
    assert "re-run the same saved plan" not in again.stderr
    assert "an apply of this very plan" in again.stderr and "stopped midway" in again.stderr
    assert "apply the new plan" in again.stderr
    reconciler(repo, "plan", "--today", today, "--out", "new.json", check=True)
    assert reconciler(repo, "apply", "new.json", "--today", today).returncode == 0
    assert portal(repo, today).count("product: WorkForce") == 6  # 3 rented, 1 CAPEX, 2 ordered once
