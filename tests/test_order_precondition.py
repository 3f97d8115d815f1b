"""An order carries the count it expects on its PBX, and the portal refuses it when that no longer holds.

Two plans made from the same portal state both order the same devices. Applied one after the
other with nothing between them (no lock: one was broken while its holder lived), the second
order is refused with the portal's reason and the devices are ordered once: on the sandbox file
and over HTTP, where the provider passes the step through unchanged.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reconciler.config import Policy
from reconciler.plan.model import Action, Step, parse_step
from reconciler.providers import StepRefused
from reconciler.providers.http import HttpProvider
from reconciler.providers.sandbox import SandboxProvider
from reconciler.sandbox.portal import received

from tests.portal_support import READ_TOKEN, WRITE_TOKEN, as_writer, served_example
from tests.test_apply_e2e import reconciler, sandbox_repo
from tests.test_plan_support import CURRENT_PBX, DESIRED_PBX, TODAY, customer_file, device, merged, plan, snapshot

NAME = "hwaas-orders-returns"  # stark holds 3 HWaaS WorkForce and orders 2 more


def orders(repo, today, env=None) -> list[Step]:
    document = json.loads(reconciler(repo, "plan", "--today", today, "--format", "json", env=env, check=True).stdout)
    return [parse_step(s) for s in document["steps"]
            if s["action"] == Action.ORDER_HWAAS.value and s["status"] == "ready"]


def workforce(provider, today: dt.date) -> int:
    devices = provider.read(today).customers["stark"].pbxes["stark"].devices
    return sum(d.product == "WorkForce" and d.billing == "hwaas" for d in devices)


def carry_out_twice(provider, first: list[Step], second: list[Step], day: dt.date) -> StepRefused:
    assert [s.changes for s in first] == [s.changes for s in second]  # the same plan twice
    assert [s.changes.expected for s in first] == [{"WorkForce": 3}]
    for step in first:
        assert provider.execute(step, day, f"run-a:{step.id}") is True
    with pytest.raises(StepRefused) as refused:
        for step in second:
            provider.execute(step, day, f"run-b:{step.id}")  # another run: its own tokens
    return refused.value


def test_two_plans_from_the_same_state_order_once_on_the_sandbox(tmp_path):
    repo, today = sandbox_repo(tmp_path, NAME)
    day = dt.date.fromisoformat(today)
    first, second = orders(repo, today), orders(repo, today)
    provider = SandboxProvider(repo / ".reconciler" / "sandbox.db")
    refused = carry_out_twice(provider, first, second, day)
    assert str(refused) == ("the portal refused order-hwaas on stark/stark: stark holds 5 HWaaS WorkForce, not 3 "
                            "as the plan expects (another plan was carried out since): nothing was ordered, plan "
                            "again [stale-plan]")
    assert [d.rule for d in refused.diagnostics] == ["stale-plan"]
    assert workforce(provider, day) == 5
    assert orders(repo, today) == []  # the next plan orders nothing more


def test_two_plans_from_the_same_state_order_once_over_http(tmp_path, monkeypatch):
    server, repo, today = served_example(tmp_path, NAME)
    try:
        day = dt.date.fromisoformat(today)
        first, second = orders(repo, today, as_writer(READ_TOKEN)), orders(repo, today, as_writer(READ_TOKEN))
        monkeypatch.setenv("RECONCILER_PORTAL_TOKEN", WRITE_TOKEN)
        provider = HttpProvider(server.url)
        refused = carry_out_twice(provider, first, second, day)
        assert "holds 5 HWaaS WorkForce, not 3 as the plan expects" in str(refused)
        assert [d.rule for d in refused.diagnostics] == ["stale-plan"]
        assert workforce(provider, day) == 5
    finally:
        server.stop()


def test_the_portal_judges_an_order_by_what_the_pbx_holds_when_it_runs(tmp_path):
    # an order expecting 5 WorkForce is refused while stark holds 3, and carried out once it holds 5
    repo, today = sandbox_repo(tmp_path, NAME)
    day = dt.date.fromisoformat(today)
    provider = SandboxProvider(repo / ".reconciler" / "sandbox.db")
    [order] = orders(repo, today)
    again = order.model_copy(update={"id": 9, "changes": order.changes.model_copy(update={"expected": {"WorkForce": 5}})})
    with pytest.raises(StepRefused, match="holds 3 HWaaS WorkForce, not 5"):
        provider.execute(again, day, "run-c:9")
    assert provider.execute(order, day, "run-c:1") is True
    assert provider.execute(again, day, "run-c:2") is True
    assert workforce(provider, day) == 7


@pytest.mark.parametrize("expected", [{"WorkForce": "0"}, {"DuoLED": 0}, [0], {"WorkForce": True}])
def test_a_malformed_expectation_is_refused_as_the_wrong_form(tmp_path, expected):
    repo, today = sandbox_repo(tmp_path, NAME)
    day = dt.date.fromisoformat(today)
    provider = SandboxProvider(repo / ".reconciler" / "sandbox.db")
    [order] = orders(repo, today)
    forged = order.model_dump(mode="json")
    forged["changes"]["expected"] = expected
    with pytest.raises(StepRefused, match=r"\[schema\]"):  # by the step models as it comes in, or by the portal
        provider.execute(received(forged), day, "run-d:1")
    assert workforce(provider, day) == 3


# what the planner expects: the portal's count moved by the ready steps before the order -----------

def test_an_order_expects_the_devices_the_ready_steps_before_it_bring_or_take():
    # acme holds 1 WorkForce, receives 9C0009 from globex (same term and expiry: an automatic transfer)
    # and wants 3; globex replaces the device it gives away and keeps 1 MonoLED it has
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=[device("9C0001")])},
                        "globex": {"globex": merged(CURRENT_PBX, devices=[device("9C0009"),
                                                                          device("9C0010", product="MonoLED")])}})
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, hwaas={"WorkForce": 3}, pinned={"9C0009": "hwaas"})}),
               customer_file("globex", pbxes={"globex": merged(DESIRED_PBX, hwaas={"WorkForce": 1, "MonoLED": 2})})]
    result = plan(desired, current, TODAY, Policy())
    seen = [(s.action.value, s.address, s.status.value, getattr(s.changes, "expected", None)) for s in result.steps]
    assert seen == [
        ("transfer-hwaas", "acme/acme", "ready", None),
        ("order-hwaas", "acme/acme", "ready", {"WorkForce": 2}),      # 1 held + 1 transferred in
        ("order-hwaas", "globex/globex", "ready", {"MonoLED": 1}),
        ("order-hwaas", "globex/globex", "ready", {"WorkForce": 0}),  # 9C0009 left before
    ]
