"""`plan --changed-since REF`: a pull request's customers, planned from a real Git repo's history."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.render.markdown import size

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TODAY = "2026-11-22"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                            capture_output=True, text=True, check=True)
    return result.stdout


def commit(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


UMBRELLA = """customer: umbrella
company: Umbrella Ltd
contacts:
  - {name: Ada Wong, email: ada@umbrella.example}
pbxes:
  umbrella:
    model: cloud
    region: eu-central
    term: 1y
    licenses:
      essential: 5
"""
UMBRELLA_STATE = """  umbrella:
    company: Umbrella Ltd
    contacts: [{name: Ada Wong, email: ada@umbrella.example}]
    pbxes:
      umbrella:
        serial: SW-00099999
        model: cloud
        region: eu-central
        term: 1y
        activated_on: 2025-01-10
        expires_on: 2027-01-10
        licenses: {essential: 5}
"""


@pytest.fixture
def repo(tmp_path) -> Path:
    """A Git work tree whose GitOps repo sits in a subdirectory: the transfer example plus an unrelated customer."""
    root = tmp_path / "partner" / "gitops"
    shutil.copytree(EXAMPLES / "capex-conversion-and-transfer", root, ignore=shutil.ignore_patterns("README.md"))
    (root / "customers" / "umbrella.yaml").write_text(UMBRELLA)
    (root / "state.yaml").write_text((root / "state.yaml").read_text() + UMBRELLA_STATE)
    (tmp_path / "partner" / "README.md").write_text("other things live in this Git repo too\n")
    git(tmp_path / "partner", "init", "-q")
    commit(tmp_path / "partner", "base")
    return root


def plan_json(repo: Path, ref: str, capsys, monkeypatch, *more: str) -> tuple[int, dict, str]:
    monkeypatch.chdir(repo)
    code = main(["plan", f"--changed-since={ref}", "--today", TODAY, "--format", "json", *more])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def planned_customers(document: dict) -> set[str]:
    return {step["customer"] for step in document["steps"]}


def notes(document: dict, rule: str = "changed-since") -> list[str]:
    return [d["message"] for d in document["diagnostics"] if d["rule"] == rule]


def test_one_changed_customer_is_planned_alone(repo, capsys, monkeypatch):
    edit(repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 7")
    commit(repo, "umbrella: 2 more essential")
    code, document, err = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    assert code == 0, err
    assert [(s["customer"], s["action"], s["changes"]) for s in document["steps"]] == [
        ("umbrella", "add-licenses", {"licenses.essential": [5, 7]})]
    assert any(n.startswith("planning 1 of 4 customer files: those changed since HEAD~1") for n in notes(document))
    # a partial plan: the customers it does not name are not called unmanaged
    assert not notes(document, "unmanaged-customer")


def test_a_pinned_device_brings_in_the_customer_it_comes_from(repo, capsys, monkeypatch):
    # globex's file is the only one changed, but its pinned Vision sits on acme today: acme is planned too,
    # and acme holds a device that initech pins, so initech is as well; umbrella is not
    edit(repo / "customers" / "globex.yaml", "essential: 8", "essential: 9")
    commit(repo, "globex: one more essential")
    _, document, _ = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    transfers = [(s["customer"], s["changes"]["serials"]) for s in document["steps"] if s["action"] == "transfer-hwaas"]
    assert ("globex", ["9C7514000404"]) in transfers
    assert planned_customers(document) == {"acme", "globex", "initech"}
    reached = [n for n in notes(document) if n.startswith("also planned")]
    assert reached == ["also planned, as the other side of a device transfer: "
                       "acme (customers/acme.yaml), initech (customers/initech.yaml)"]


def test_nothing_changed_plans_nothing(repo, capsys, monkeypatch):
    code, document, _ = plan_json(repo, "HEAD", capsys, monkeypatch, "--detailed-exitcode")
    assert code == 0 and document["steps"] == []
    assert notes(document)[0].startswith("planning 0 of 4 customer files")


def test_a_pull_request_touching_no_customer_gets_an_empty_comment(repo, capsys, monkeypatch):
    (repo.parent / "README.md").write_text("only the docs changed\n")
    commit(repo, "docs")
    monkeypatch.chdir(repo)
    assert main(["plan", "--changed-since", "HEAD~1", "--today", TODAY, "--format", "markdown"]) == 0
    assert capsys.readouterr().out == ""  # the pipelines post plan.md only when it is not empty
    edit(repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 7")
    assert main(["plan", "--changed-since", "HEAD~1", "--today", TODAY, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("<!-- reconciler-plan:. -->\n## reconciler plan for")


def test_uncommitted_and_untracked_files_count_as_changed(repo, capsys, monkeypatch):
    edit(repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 6")
    (repo / "customers" / "wayne.yaml").write_text(UMBRELLA.replace("umbrella", "wayne").replace("Umbrella", "Wayne"))
    _, document, _ = plan_json(repo, "HEAD", capsys, monkeypatch)
    assert planned_customers(document) == {"umbrella", "wayne"}
    assert {s["action"] for s in document["steps"] if s["customer"] == "wayne"} >= {"create-customer", "create-pbx"}


def test_a_deleted_customer_file_is_reported_with_its_customer(repo, capsys, monkeypatch):
    (repo / "customers" / "umbrella.yaml").unlink()
    commit(repo, "umbrella leaves")
    _, document, _ = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    [warning] = [d for d in document["diagnostics"] if d["rule"] == "customer-file-deleted"]
    assert warning["severity"] == "warning" and warning["customer"] == "umbrella"
    assert warning["file"] == "customers/umbrella.yaml"
    assert "customer 'umbrella' is absent from the repo; it is now unmanaged" in warning["message"]
    assert document["summary"]["warnings"] == 1


def test_a_deleted_file_with_prune_says_a_whole_repo_plan_decommissions(repo, capsys, monkeypatch):
    (repo / "reconciler.yaml").write_text((repo / "reconciler.yaml").read_text() + "policy:\n  prune: true\n")
    commit(repo, "prune")
    (repo / "customers" / "umbrella.yaml").unlink()
    _, document, _ = plan_json(repo, "HEAD", capsys, monkeypatch)
    [message] = notes(document, "customer-file-deleted")
    assert "prune: true, so a whole-repo plan decommissions it" in message


def test_a_moved_customer_file_is_not_a_deletion(repo, capsys, monkeypatch):
    (repo / "customers" / "eu").mkdir()
    (repo / "customers" / "umbrella.yaml").rename(repo / "customers" / "eu" / "umbrella.yaml")
    commit(repo, "move")
    _, document, _ = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    assert not notes(document, "customer-file-deleted")
    assert any("customer 'umbrella' is now in customers/eu/umbrella.yaml" in n for n in notes(document))


def test_a_changed_configuration_plans_the_whole_repo(repo, capsys, monkeypatch):
    (repo / "reconciler.yaml").write_text((repo / "reconciler.yaml").read_text() + "timezone: Europe/Rome\n")
    commit(repo, "timezone")
    _, document, _ = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    assert notes(document)[0].startswith("reconciler.yaml changed since HEAD~1")
    assert planned_customers(document) == {"acme", "globex", "initech"}  # umbrella matches: no steps


def test_an_invalid_changed_file_stops_the_plan_with_its_position(repo, capsys, monkeypatch):
    edit(repo / "customers" / "umbrella.yaml", "essential: 5", "essentail: 5")
    code, document, err = plan_json(repo, "HEAD", capsys, monkeypatch)
    assert code == 1 and document["steps"] == []
    places = [(d["file"], d["line"], d["column"]) for d in document["diagnostics"]]
    assert places == [("customers/umbrella.yaml", 11, 7)]
    assert "customers/umbrella.yaml:11:7: error[" in err and "did you mean 'essential'" in err


def test_a_branch_behind_main_plans_only_its_own_change_from_the_merge_base(repo, capsys, monkeypatch):
    # diverged both ways: the branch changes umbrella; main, since the branch left it, changed acme's
    # licenses and added wayne. Compared with main's tip, the branch's stale acme file would plan
    # reverting the colleague's change, and wayne would look deleted
    main_branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    edit(repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 7")
    commit(repo, "umbrella: 2 more essential")
    git(repo, "checkout", "-q", main_branch)
    edit(repo / "customers" / "acme.yaml", "premium: 2", "premium: 4")
    (repo / "customers" / "wayne.yaml").write_text(UMBRELLA.replace("umbrella", "wayne").replace("Umbrella", "Wayne"))
    commit(repo, "a colleague: acme 2 more premium, wayne arrives")
    git(repo, "checkout", "-q", "feature")
    code, document, err = plan_json(repo, main_branch, capsys, monkeypatch)
    assert code == 0, err
    assert [(s["customer"], s["action"], s["changes"]) for s in document["steps"]] == [
        ("umbrella", "add-licenses", {"licenses.essential": [5, 7]})]
    assert not notes(document, "customer-file-deleted")
    base = git(repo, "merge-base", main_branch, "HEAD").strip()
    assert any(n.startswith(f"planning 1 of 4 customer files: those changed since the merge base of "
                            f"{main_branch} and HEAD ({base[:10]})") for n in notes(document))
    # once the branch is merged into main, main's own plan since the branch point sees both changes
    git(repo, "checkout", "-q", main_branch)
    git(repo, "-c", "user.name=t", "merge", "-q", "--no-edit", "feature")
    _, merged, _ = plan_json(repo, base, capsys, monkeypatch)
    assert {"umbrella", "acme", "wayne"} <= planned_customers(merged)


def test_unrelated_histories_are_a_clear_error(repo, capsys, monkeypatch):
    main_branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-q", "--orphan", "elsewhere")
    commit(repo, "a root of its own")
    other = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-f", main_branch)
    code, _, err = plan_json(repo, other, capsys, monkeypatch)
    assert code == 1 and "shares no history with HEAD (no merge base)" in err


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~5", "--output=/tmp/x"])
def test_a_bad_ref_is_a_clear_error(repo, capsys, monkeypatch, ref):
    code, document, err = plan_json(repo, ref, capsys, monkeypatch)
    assert code == 1 and document["steps"] == [] and document["summary"]["errors"] == 1
    assert f"error: --changed-since {ref}: no such commit in this Git repo" in err
    assert not Path("/tmp/x").exists() or ref != "--output=/tmp/x"


def test_outside_a_git_repo_is_a_clear_error(tmp_path, capsys, monkeypatch):
    shutil.copytree(EXAMPLES / "costs", tmp_path / "repo")
    code, document, err = plan_json(tmp_path / "repo", "HEAD", capsys, monkeypatch)
    assert code == 1
    assert "error: --changed-since needs a Git repo: . is not inside a Git work tree" in err


def test_a_git_directory_without_a_work_tree_is_a_clear_error(repo, tmp_path, capsys, monkeypatch):
    """A bare clone has the commit but no work tree: there is nothing to tell changed, and the error says so."""
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", git(repo, "rev-parse", "--show-toplevel").strip(), str(bare))
    shutil.copytree(EXAMPLES / "costs", bare, dirs_exist_ok=True)
    code, document, err = plan_json(bare, "HEAD", capsys, monkeypatch)
    assert code == 1 and document["steps"] == []
    assert "error: --changed-since needs a Git repo: . is not inside a Git work tree" in err


def test_changed_since_takes_a_directory_not_files(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["plan", "--changed-since", "HEAD", "customers/acme.yaml"]) == 1
    assert "--changed-since plans one repo directory" in capsys.readouterr().err


# The pull request's saved plan, applied on the sandbox: only its own files must be as they were.

SANDBOX_STATE = EXAMPLES / "new-cloud-customer"


@pytest.fixture
def sandbox_repo(tmp_path) -> Path:
    root = tmp_path / "gitops"
    shutil.copytree(SANDBOX_STATE / "customers", root / "customers")
    (root / "customers" / "umbrella.yaml").write_text(UMBRELLA)
    git(root, "init", "-q")
    commit(root, "base")
    state = (SANDBOX_STATE / "state.yaml").read_text()
    (root / ".reconciler").mkdir()
    (root / ".reconciler" / "state.yaml").write_text(state + UMBRELLA_STATE if "customers:\n" in state else state)
    assert main(["sandbox", "load", str(root / ".reconciler" / "state.yaml"), "--repo", str(root)]) == 0
    return root


def test_a_saved_partial_plan_applies_when_only_other_files_changed(sandbox_repo, capsys, monkeypatch):
    edit(sandbox_repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 8")
    commit(sandbox_repo, "umbrella: 3 more")
    monkeypatch.chdir(sandbox_repo)
    assert main(["plan", "--changed-since", "HEAD~1", "--today", TODAY, "--out", "plan.json"]) == 0
    saved = json.loads(Path("plan.json").read_text())
    assert saved["desired_files"] == ["customers/umbrella.yaml"]
    assert [s["customer"] for s in saved["steps"]] == ["umbrella"]
    # another pull request merged meanwhile and changed a file this plan did not cover
    other = next(p for p in (sandbox_repo / "customers").iterdir() if p.name != "umbrella.yaml")
    other.write_text(other.read_text() + "\n# reviewed elsewhere\n")
    capsys.readouterr()
    assert main(["apply", "plan.json", "--today", TODAY]) == 0
    # umbrella now matches; the other file's customer is for its own pull request
    assert main(["plan", "customers/umbrella.yaml", "--today", TODAY, "--detailed-exitcode"]) == 0


def test_a_saved_partial_plan_is_refused_when_its_own_file_changed(sandbox_repo, capsys, monkeypatch):
    edit(sandbox_repo / "customers" / "umbrella.yaml", "essential: 5", "essential: 8")
    commit(sandbox_repo, "umbrella: 3 more")
    monkeypatch.chdir(sandbox_repo)
    assert main(["plan", "--changed-since", "HEAD~1", "--today", TODAY, "--out", "plan.json"]) == 0
    edit(sandbox_repo / "customers" / "umbrella.yaml", "essential: 8", "essential: 9")
    capsys.readouterr()
    assert main(["apply", "plan.json", "--today", TODAY]) == 1
    assert "desired" in capsys.readouterr().err


# The measure: a partner-wide repo of 1,000 customers, one file changed in the last commit.

def _customer(n: int) -> tuple[str, str]:
    name = f"c{n:04}"
    desired = (f"customer: {name}\ncompany: Customer {n}\ncontacts:\n  - {{name: Jo, email: jo@{name}.example}}\npbxes:\n  {name}:\n    model: cloud\n"
               f"    region: eu-central\n    term: 1y\n    licenses:\n      essential: 5\n")
    current = (f"  {name}:\n    company: Customer {n}\n    contacts: [{{name: Jo, email: jo@{name}.example}}]\n    pbxes:\n      {name}:\n        serial: SW-{n:08}\n"
               f"        model: cloud\n        region: eu-central\n        term: 1y\n        activated_on: 2025-01-10\n"
               f"        expires_on: 2027-01-10\n        licenses: {{essential: 5}}\n")
    return desired, current


def test_a_thousand_customer_repo_with_one_change_plans_one_customer_in_a_comment(tmp_path, capsys, monkeypatch):
    root = tmp_path / "partner"
    (root / "customers").mkdir(parents=True)
    states = []
    for n in range(1000):
        desired, current = _customer(n)
        (root / "customers" / f"c{n:04}.yaml").write_text(desired)
        states.append(current)
    (root / "reconciler.yaml").write_text("provider:\n  kind: snapshot\n  path: state.yaml\n")
    (root / "state.yaml").write_text("as_of: 2026-11-22\ncustomers:\n" + "".join(states))
    git(root, "init", "-q")
    commit(root, "1,000 customers")
    edit(root / "customers" / "c0421.yaml", "essential: 5", "essential: 9")
    commit(root, "c0421: 4 more")
    monkeypatch.chdir(root)
    assert main(["plan", "--changed-since", "HEAD~1", "--today", TODAY, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert size(markdown) <= 65_536
    assert "planning 1 of 1000 customer files: those changed since HEAD&#126;1" in markdown  # no strikethrough
    assert "| 1 | 1 | 1 | 0 | 0 | 0 | 0 |" in markdown  # customers, steps, ready, blocked, manual, errors, warnings
    assert "<b>c0421</b>: 1 step" in markdown and markdown.count("<details") == 1


def test_an_invalid_file_on_the_other_side_of_a_transfer_stops_the_plan(repo, capsys, monkeypatch):
    edit(repo / "customers" / "initech.yaml", "region: eu-west", "regoin: eu-west")  # initech pins a device of acme
    commit(repo, "initech broken by an earlier change")
    edit(repo / "customers" / "globex.yaml", "essential: 8", "essential: 9")
    commit(repo, "globex")
    code, document, err = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    assert code == 1 and document["steps"] == [] and document["summary"]["errors"] >= 1
    assert "customers/initech.yaml:" in err and "did you mean 'region'" in err


def test_a_transfer_reached_from_a_change_is_judged_as_in_a_whole_repo_plan(repo, capsys, monkeypatch):
    # transfer-conditions: the Vision moves to globex automatically (same term and expiry as acme),
    # the SuperVision to initech only by a Customer Care ticket (another expiry): the partial plan agrees
    edit(repo / "customers" / "globex.yaml", "essential: 8", "essential: 9")
    commit(repo, "globex: one more essential")
    _, partial, _ = plan_json(repo, "HEAD~1", capsys, monkeypatch)
    assert main(["plan", "--today", TODAY, "--format", "json"]) == 0
    whole = json.loads(capsys.readouterr().out)

    def judged(document):
        return [(s["customer"], s["action"], s["status"], s["changes"], s["rules"]) for s in document["steps"]
                if s["customer"] in planned_customers(partial)]

    assert judged(partial) == judged(whole)
    transfers = {s["changes"]["serials"][0]: s["status"] for s in partial["steps"] if s["action"] == "transfer-hwaas"}
    assert transfers == {"9C7514000404": "ready", "9C7514000405": "manual"}
