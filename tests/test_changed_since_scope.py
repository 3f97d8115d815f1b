"""`plan --changed-since` plans what a plan of exactly its customers' files plans, however it finds them.

It finds the other sides of device transfers through an index of the repo at the merge base
(reconciler.pins) and binds only the snapshot entries it needs (reconciler.snapshotparts). Its
plan must be the plan of exactly those files, with the cache cold and warm: for an edited, an
added and a deleted file, a file that moves an HWaaS device from another customer, and a
duplicate PBX name or customer id brought in by the changed file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES

TODAY = "2026-11-30"
SCOPE_RULES = ("changed-since", "customer-file-deleted")  # what only a --changed-since plan says

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout


def reconciler(cwd: Path, *args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode in (0, 1, 2), result.stderr
    return result.returncode, result.stdout


def as_repo(tmp_path: Path, source: Path | None = None, customers: int = 0) -> Path:
    repo = tmp_path / "repo"
    if source is not None:
        shutil.copytree(source, repo, ignore=shutil.ignore_patterns(".reconciler", "README.md"))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
        try:
            from generate import generate
        finally:
            sys.path.pop(0)
        generate(customers, repo)
    (repo / ".gitignore").write_text(".reconciler/\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def state_args(repo: Path) -> list[str]:
    return ["--state", "state.yaml"] if not (repo / "reconciler.yaml").is_file() else []


def changed_since(repo: Path) -> tuple[int, dict, list[str]]:
    """The --changed-since plan (JSON) and the files it planned (its saved plan's desired_files)."""
    saved = repo.parent / "saved.json"
    code, out = reconciler(repo, "plan", ".", "--changed-since", "HEAD", "--today", TODAY, "--format", "json",
                           "--out", str(saved), *state_args(repo))
    files = [name for name in json.loads(saved.read_text()).get("desired_files") or [] if name != "reconciler.yaml"]
    return code, json.loads(out), files


def exactly(repo: Path, files: list[str]) -> tuple[int, dict]:
    code, out = reconciler(repo, "plan", *files, "--today", TODAY, "--format", "json", *state_args(repo))
    return code, json.loads(out)


def without_scope_notes(document: dict) -> dict:
    kept = [d for d in document["diagnostics"] if d["rule"] not in SCOPE_RULES]
    summary = {key: value for key, value in document["summary"].items() if key not in ("warnings", "infos")}
    return {**document, "diagnostics": kept, "summary": summary}


def assert_same_as_exactly(repo: Path, changed: list[str]) -> dict:
    """--changed-since (cold, then warm) plans `changed` and the files they reach, and says what a plan of exactly
    those files says."""
    shutil.rmtree(repo / ".reconciler", ignore_errors=True)
    code, cold, files = changed_since(repo)
    expected = reached(repo, changed)
    assert sorted(files) == expected or not files and code == 1  # a plan stopped on invalid input saves no files
    warm_code, warm, _ = changed_since(repo)
    assert (warm_code, warm) == (code, cold)
    assert (repo / ".reconciler" / "cache" / "snapshot-parts.bin").is_file() or not files
    plain_code, plain = exactly(repo, expected if files else changed)  # stopped: before reaching any other file
    assert code == plain_code
    assert without_scope_notes(cold) == without_scope_notes(plain)
    return cold


def held_elsewhere(repo: Path, customer: str) -> tuple[str, str, str]:
    """(a customer other than `customer`, its PBX, the serial of an HWaaS device on it) from the snapshot."""
    state = yaml.safe_load((repo / "state.yaml").read_text())
    for cid, entry in state["customers"].items():
        for name, pbx in (entry.get("pbxes") or {}).items():
            for device in pbx.get("devices") or []:
                if cid != customer and device.get("billing") == "hwaas":
                    return cid, name, device["serial"]
    raise AssertionError("no HWaaS device in the snapshot")


def file_of(repo: Path, customer: str) -> str:
    return next(f"customers/{p.name}" for p in sorted((repo / "customers").glob("*.yaml"))
                if f"customer: {customer}\n" in p.read_text())


@pytest.fixture(params=["generated", "example"])
def repo(request, tmp_path) -> Path:
    if request.param == "generated":
        return as_repo(tmp_path, customers=60)
    return as_repo(tmp_path, EXAMPLES / "capex-conversion-and-transfer")


def first_file(repo: Path) -> Path:
    return sorted((repo / "customers").glob("*.yaml"))[0]


def test_an_edited_file(repo):
    path = first_file(repo)
    path.write_text(path.read_text().replace("company: ", "company: Edited ", 1))
    assert_same_as_exactly(repo, [f"customers/{path.name}"])


def test_an_added_file(repo):
    text = first_file(repo).read_text()
    customer = yaml.safe_load(text)["customer"]
    added = text.replace(customer, "newcomer")
    (repo / "customers" / "newcomer.yaml").write_text(added)
    document = assert_same_as_exactly(repo, ["customers/newcomer.yaml"])
    assert {s["action"] for s in document["steps"]} >= {"create-customer", "create-pbx"}


def test_a_deleted_file_beside_an_edited_one(repo):
    gone, edited = sorted((repo / "customers").glob("*.yaml"))[-1], first_file(repo)
    gone.unlink()
    edited.write_text(edited.read_text().replace("company: ", "company: Edited ", 1))
    document = assert_same_as_exactly(repo, [f"customers/{edited.name}"])
    assert [d["file"] for d in document["diagnostics"] if d["rule"] == "customer-file-deleted"] == [
        f"customers/{gone.name}"]


def test_a_file_that_moves_hwaas_from_another_customer(repo):
    path = first_file(repo)
    data = yaml.safe_load(path.read_text())
    giver, _, serial = held_elsewhere(repo, data["customer"])
    data["pbxes"][next(iter(data["pbxes"]))].setdefault("pinned", {})[serial] = "hwaas"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert file_of(repo, giver) in reached(repo, [f"customers/{path.name}"])
    document = assert_same_as_exactly(repo, [f"customers/{path.name}"])
    assert any(s["action"] == "transfer-hwaas" and s["changes"]["serials"] == [serial] for s in document["steps"])


def reached(repo: Path, changed: list[str]) -> list[str]:
    """The files a plan of `changed` must take in: the other sides of its transfers, found by reading every file."""
    files = {f"customers/{p.name}": yaml.safe_load(p.read_text()) for p in (repo / "customers").glob("*.yaml")}
    state = yaml.safe_load((repo / "state.yaml").read_text())
    owners = {device["serial"]: cid for cid, entry in state["customers"].items()
              for pbx in (entry.get("pbxes") or {}).values() for device in pbx.get("devices") or []}

    def pins(name: str) -> set[str]:
        return {serial for pbx in files[name]["pbxes"].values() for serial in (pbx.get("pinned") or {})}

    planned = set(changed)
    while True:
        customers = {files[name]["customer"] for name in planned}
        pinned = set().union(*(pins(name) for name in planned))
        serials = pinned | {serial for serial, owner in owners.items() if owner in customers}
        givers = {owners[serial] for serial in pinned if serial in owners} - customers
        new = {name for name in files if name not in planned
               and (files[name]["customer"] in givers or not serials.isdisjoint(pins(name)))}
        if not new:
            return sorted(planned)
        planned |= new


def test_a_duplicate_pbx_name_brought_in_by_the_changed_file(repo):
    first, second = sorted((repo / "customers").glob("*.yaml"))[:2]
    data, other = yaml.safe_load(first.read_text()), yaml.safe_load(second.read_text())
    data["pbxes"][next(iter(other["pbxes"]))] = next(iter(data["pbxes"].values()))
    first.write_text(yaml.safe_dump(data, sort_keys=False))
    assert_same_as_exactly(repo, [f"customers/{first.name}"])


def test_a_duplicate_customer_id_brought_in_by_the_changed_file(repo):
    first, second = sorted((repo / "customers").glob("*.yaml"))[:2]
    data = yaml.safe_load(first.read_text())
    data["customer"] = yaml.safe_load(second.read_text())["customer"]
    first.write_text(yaml.safe_dump(data, sort_keys=False))
    assert_same_as_exactly(repo, [f"customers/{first.name}"])


def pin_from(repo: Path, path: Path) -> str:
    """Pin on `path`'s first PBX an HWaaS device another customer holds; the serial."""
    data = yaml.safe_load(path.read_text())
    _, _, serial = held_elsewhere(repo, data["customer"])
    data["pbxes"][next(iter(data["pbxes"]))].setdefault("pinned", {})[serial] = "hwaas"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return serial


def test_a_warm_run_reads_no_file_the_change_does_not_reach(tmp_path, monkeypatch):
    import reconciler.pins
    import reconciler.scope
    from reconciler.workflow import PlanRequest, make_plan

    repo = as_repo(tmp_path, customers=60)
    pin_from(repo, first_file(repo))
    monkeypatch.chdir(repo)
    request = PlanRequest(paths=["."], state="state.yaml", today=TODAY, changed_since="HEAD")
    cold = make_plan(request).document
    monkeypatch.setattr(reconciler.scope, "_text", lambda *a: pytest.fail("another customer file was read"))
    monkeypatch.setattr(reconciler.pins, "read_customer", lambda *a: pytest.fail("the index was made again"))
    assert make_plan(request).document == cold


def test_the_index_of_a_newer_commit_sees_what_changed_in_it(tmp_path):
    repo = as_repo(tmp_path, EXAMPLES / "capex-conversion-and-transfer")
    initech = repo / "customers" / "initech.yaml"
    globex = repo / "customers" / "globex.yaml"
    globex.write_text(globex.read_text().replace("essential: 8", "essential: 9"))
    assert "customers/initech.yaml" in changed_since(repo)[2]  # initech pins a device of acme, whom globex reaches
    git(repo, "checkout", "-q", "--", ".")
    data = yaml.safe_load(initech.read_text())
    for pbx in data["pbxes"].values():
        pbx.pop("pinned", None)
    initech.write_text(yaml.safe_dump(data, sort_keys=False))
    git(repo, "commit", "-q", "-am", "initech pins nothing")
    globex.write_text(globex.read_text().replace("essential: 8", "essential: 9"))
    code, document, files = changed_since(repo)  # the index of the old commit is in the cache
    assert "customers/initech.yaml" not in files
    assert sorted(files) == reached(repo, ["customers/globex.yaml"])
    assert without_scope_notes(document) == without_scope_notes(exactly(repo, files)[1])


def test_a_file_git_does_not_track_is_read_as_before(tmp_path):
    repo = as_repo(tmp_path, EXAMPLES / "capex-conversion-and-transfer")
    (repo / ".gitignore").write_text(".reconciler/\ncustomers/initech.yaml\n")
    git(repo, "rm", "-q", "--cached", "customers/initech.yaml")
    git(repo, "commit", "-q", "-am", "initech's file kept out of Git")
    globex = repo / "customers" / "globex.yaml"
    globex.write_text(globex.read_text().replace("essential: 8", "essential: 9"))
    for _ in range(2):  # cold, then with the index
        assert "customers/initech.yaml" in changed_since(repo)[2]


def test_a_changed_configuration_with_the_parts_warm_plans_the_whole_repo(tmp_path):
    repo = as_repo(tmp_path, EXAMPLES / "capex-conversion-and-transfer")
    globex = repo / "customers" / "globex.yaml"
    globex.write_text(globex.read_text().replace("essential: 8", "essential: 9"))
    changed_since(repo)  # leaves the snapshot's parts behind
    (repo / "reconciler.yaml").write_text((repo / "reconciler.yaml").read_text() + "timezone: Europe/Rome\n")
    code, document = reconciler(repo, "plan", ".", "--changed-since", "HEAD", "--today", TODAY, "--format", "json")
    whole_code, whole = reconciler(repo, "plan", ".", "--today", TODAY, "--format", "json")
    assert code == whole_code
    assert without_scope_notes(json.loads(document)) == without_scope_notes(json.loads(whole))


def test_parts_of_another_snapshot_are_not_used(tmp_path):
    repo = as_repo(tmp_path, EXAMPLES / "capex-conversion-and-transfer")
    globex = repo / "customers" / "globex.yaml"
    globex.write_text(globex.read_text().replace("essential: 8", "essential: 9"))
    changed_since(repo)
    state = repo / "state.yaml"
    state.write_text(state.read_text().replace("essential: 8", "essential: 6"))  # the portal moved
    _, document, files = changed_since(repo)
    assert {"licenses.essential": [6, 9]} in [s["changes"] for s in document["steps"] if s["customer"] == "globex"]
    assert without_scope_notes(document) == without_scope_notes(exactly(repo, files)[1])
