"""A saved plan of one customer records only what it reads, and is judged stale on that alone.

Saved plans are CI artifacts: a plan of one customer file carries that customer's portal
state and the other side of its device transfers (plus the partner, stock and catalog),
never every customer's contacts. Its state fingerprint, the stale check and the re-plan
proof work on that recorded subset: a change to an unrelated customer leaves it valid,
a change to its own customer (or to the transfer's other side) makes it stale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.test_apply_e2e import reconciler, sandbox_repo

FILLERS = 47  # with the example's 3 customers: a portal of 50


def state_of(repo: Path) -> dict:
    return YAML(typ="safe", pure=True).load((repo / "state.yaml").read_text(encoding="utf-8"))


def load_portal(repo: Path, state: dict) -> None:
    """Write `state` as the portal's snapshot and load it into the repo's sandbox."""
    yaml = YAML(typ="safe", pure=True)
    with (repo / "state.yaml").open("w", encoding="utf-8") as file:
        yaml.dump(state, file)
    reconciler(repo, "sandbox", "load", "state.yaml", check=True)


def fifty_customer_portal(tmp_path: Path) -> tuple[Path, str, dict]:
    repo, today = sandbox_repo(tmp_path, "capex-conversion-and-transfer")
    state = state_of(repo)
    for i in range(FILLERS):
        state["customers"][f"filler-{i:02d}"] = {"company": f"Filler {i} AG",
                                                 "contacts": [{"name": f"Person {i}", "email": f"p{i}@f.example"}],
                                                 "pbxes": {}}
    load_portal(repo, state)
    reconciler(repo, "plan", "customers/globex.yaml", "--today", today, "--out", "plan.json", check=True)
    return repo, today, state


@pytest.fixture
def portal_of_fifty(tmp_path):
    return fifty_customer_portal(tmp_path)


def test_a_plan_of_one_customer_records_it_and_its_transfers_other_side_only(portal_of_fifty):
    repo, today, state = portal_of_fifty
    assert len(state["customers"]) == 50
    saved = json.loads((repo / "plan.json").read_text(encoding="utf-8"))
    assert {s["customer"] for s in saved["steps"]} == {"globex"}
    assert any(s["action"] == "transfer-hwaas" and s["changes"]["from"] == "acme/acme" for s in saved["steps"])
    assert sorted(saved["recorded_state"]["customers"]) == ["acme", "globex"]  # not the other 48
    assert saved["recorded_state"]["stock"] == state["stock"]
    assert "filler-07" not in (repo / "plan.json").read_text(encoding="utf-8")


def test_it_still_applies_when_an_unrelated_customer_changed(portal_of_fifty):
    repo, today, state = portal_of_fifty
    state["customers"]["filler-07"]["company"] = "Renamed AG"
    state["customers"]["initech"]["contacts"] = []
    load_portal(repo, state)
    applied = reconciler(repo, "apply", "plan.json", "--today", today)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete:" in applied.stdout


@pytest.mark.parametrize("changed", ["globex", "acme"])  # the plan's customer, the transfer's other side
def test_it_is_refused_as_stale_when_its_own_customer_changed(portal_of_fifty, changed):
    repo, today, state = portal_of_fifty
    state["customers"][changed]["company"] = "Renamed AG"
    load_portal(repo, state)
    refused = reconciler(repo, "apply", "plan.json", "--today", today)
    assert refused.returncode == 1
    assert "the portal changed since it was made" in refused.stderr
    assert f"{changed}: company" in refused.stderr and "filler" not in refused.stderr
