"""The planner and the sandbox portal agree: every ready step is accepted, and one round converges.

For each example: load its state into a sandbox, plan, carry out every ready step whose
prerequisites were carried out, read again and plan again: no ready step is left whose
prerequisites are done (blocked and manual ones may stay). A step the planner marks ready
and the portal refuses is a disagreement; RULES.md decides which side is wrong.

The xfail cases at the end are disagreements found here where the planner is wrong by
RULES.md and the seeds; they are reported to the planner's owners, not fixed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import Policy
from reconciler.plan.model import Status
from reconciler.plan.planner import plan
from reconciler.providers import StepRefused
from reconciler.providers.sandbox import SandboxProvider
from reconciler.providers.snapshot import SnapshotProvider
from reconciler.loader import load
from reconciler.snapshot import Snapshot
from tests.conftest import example_dirs
from tests.test_plan_support import CURRENT_PBX, DESIRED_PBX, TODAY, customer_file, device, merged, snapshot


def catalog_of(current: Snapshot) -> set[str] | None:
    return {product for products in (current.catalog or {}).values() for product in products} or None


def one_round(provider: SandboxProvider, files, today, policy: Policy, timezone: str = "UTC"):
    """Plan, carry out what is ready, plan again; returns (first plan, done ids, second plan)."""
    current = provider.read(today)
    first = plan(files, current, today, policy, catalog=catalog_of(current), timezone=timezone)
    assert not first.has_errors, first.diagnostics
    done: set[int] = set()
    for index, step in enumerate(first.steps):
        if step.status is Status.READY and all(d in done for d in step.depends_on):
            try:
                provider.execute(step, today, f"{index}")
            except StepRefused as refused:
                pytest.fail(f"the planner marked step {step.id} ready, the portal refused it: {refused}")
            done.add(step.id)
    after = provider.read(today)
    second = plan(files, after, today, policy, catalog=catalog_of(after), timezone=timezone)
    return first, done, second


def assert_converged(second) -> None:
    ready = [s for s in second.steps if s.status is Status.READY]
    assert ready == [], [s.model_dump(mode="json") for s in ready]


@pytest.mark.parametrize("example", [p for p in example_dirs() if (p / "reconciler.yaml").exists()],
                         ids=lambda p: p.name)
def test_every_example_converges_in_one_round(tmp_path, example: Path):
    snapshot_ = SnapshotProvider(example / "state.yaml").read()
    repo = load([example])
    diagnostics = repo.diagnostics
    assert not [d for d in diagnostics if d.severity.value == "error"]
    provider = SandboxProvider(tmp_path / "sandbox.db")
    provider.load(snapshot_)
    first, done, second = one_round(provider, [source.model for source in repo.customers], snapshot_.as_of,
                                    repo.config.policy, repo.config.timezone)
    assert_converged(second)
    waiting = [s for s in first.steps if s.id not in done]
    assert len(second.steps) == len(waiting)  # what was not done is still there, nothing new


def test_a_new_customer_converges_from_an_empty_portal(tmp_path):
    provider = SandboxProvider(tmp_path / "sandbox.db")
    files = [customer_file("newco", pbxes={"newco": merged(DESIRED_PBX, hwaas={"WorkForce": 3}),
                                           "newco-hw": {"model": "hardware", "term": "5y"}})]
    first, done, second = one_round(provider, files, TODAY, Policy())
    assert len(done) == len(first.steps) and second.steps == []


# disagreements: the planner marks these ready, the portal (by RULES.md and the seeds) refuses them ----------

def disagreement(reason: str):
    """A known planner bug: the portal refuses a ready step (xfail, for that reason only, until fixed)."""
    return pytest.mark.xfail(reason=reason, raises=pytest.fail.Exception, strict=False)


def converges(tmp_path, current: Snapshot, files, policy: Policy | None = None) -> None:
    provider = SandboxProvider(tmp_path / "sandbox.db")
    provider.load(current)
    assert_converged(one_round(provider, files, TODAY, policy or Policy())[2])


def test_hwaas_on_a_pbx_without_licenses(tmp_path):
    """The planner refuses the order (an error, the step not ready); the sandbox accepts every step that is ready."""
    provider = SandboxProvider(tmp_path / "sandbox.db")
    files = [customer_file(pbxes={"acme": merged(DESIRED_PBX, licenses={}, hwaas={"WorkForce": 2})})]
    first = plan(files, provider.read(TODAY), TODAY, Policy())
    assert [d.rule for d in first.diagnostics if d.severity == "error"] == ["hwaas-needs-subscription"]
    assert [s.action.value for s in first.steps if s.status is not Status.READY] == ["order-hwaas"]
    for index, step in enumerate(first.steps):
        if step.status is Status.READY:
            provider.execute(step, TODAY, f"{index}")


def test_licenses_moved_to_a_new_pbx(tmp_path):
    converges(tmp_path, snapshot({"acme": {"old": CURRENT_PBX}}), [customer_file(pbxes={"new": DESIRED_PBX})],
                  Policy(deletions="allow"))


def test_term_change_to_lifetime_with_devices_to_return(tmp_path):
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, model="virtual", region=None, storage_gb=None,
                                                static_ip=None, ssh=None, devices=[device("9C7500000001")])}})
    desired = {"model": "virtual", "term": "lifetime", "licenses": CURRENT_PBX["licenses"]}
    converges(tmp_path, current, [customer_file(pbxes={"acme": desired})])


def test_transfer_from_a_pbx_whose_term_changes(tmp_path):
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[device("9C7500000001")])},
                        "globex": {"globex": CURRENT_PBX}})
    files = [customer_file(pbxes={"acme": merged(DESIRED_PBX, term="1m")}),
             customer_file("globex", pbxes={"globex": merged(DESIRED_PBX, hwaas={"WorkForce": 1},
                                                             pinned={"9C7500000001": "hwaas"})})]
    converges(tmp_path, current, files)


# found by the sandbox property test: HWaaS on a PBX that gets its licenses from another PBX of the customer ------

EMPTY = merged(CURRENT_PBX, licenses={}, devices=[])


def test_an_order_on_a_pbx_licensed_by_a_move_waits_for_its_licenses(tmp_path):
    current = snapshot({"acme": {"acme-old": CURRENT_PBX, "acme-new": EMPTY}})
    files = [customer_file(pbxes={"acme-new": merged(DESIRED_PBX, hwaas={"WorkForce": 1})})]
    converges(tmp_path, current, files, Policy(deletions="allow"))


def test_a_conversion_on_a_pbx_licensed_by_a_move_waits_for_its_licenses(tmp_path):
    current = snapshot({"acme": {"acme-old": CURRENT_PBX,
                                 "acme-new": merged(EMPTY, devices=[device("9C0001", billing="capex")])}})
    files = [customer_file(pbxes={"acme-new": merged(DESIRED_PBX, hwaas={"WorkForce": 1},
                                                     pinned={"9C0001": "hwaas"})})]
    converges(tmp_path, current, files, Policy(deletions="allow"))
