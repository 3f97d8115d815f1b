"""Builders shared by the plan and rule tests (this module holds no tests).

One customer `acme` with one cloud PBX `acme` is the default scene; each test overrides
what it is about, as plain dicts validated by the real models.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

from reconciler.config import Policy
from reconciler.desired import CustomerFile
from reconciler.plan.model import Action, Plan, Status, Step
from reconciler.plan.planner import plan
from reconciler.snapshot import Snapshot

TODAY = dt.date(2026, 11, 18)  # a Wednesday, mid-month: nothing calendar-bound fires
D = dt.date.fromisoformat

CURRENT_PBX = {
    "serial": "SW-00012345", "model": "cloud", "region": "eu-central", "term": "1y",
    "activated_on": "2026-05-14", "expires_on": "2027-05-14", "status": "active",
    "licenses": {"basic": 10, "essential": 30, "premium": 5},
    "storage_gb": 50, "static_ip": False, "ssh": False, "devices": [],
}
DESIRED_PBX = {
    "model": "cloud", "region": "eu-central", "term": "1y",
    "licenses": {"basic": 10, "essential": 30, "premium": 5},
    "storage_gb": 50, "static_ip": False, "ssh": False,
}
CONTACTS = [{"name": "Jane Doe", "email": "jane@acme.example"}]


def merged(base: dict, **overrides) -> dict:
    data = copy.deepcopy(base)
    data.update(overrides)
    return data


def device(serial: str, product: str = "WorkForce", billing: str = "hwaas", since: str | None = "2025-01-01",
           commitment: bool = False) -> dict:
    return {"serial": serial, "product": product, "billing": billing, "since": since, "commitment": commitment}


def customer_file(customer: str = "acme", pbxes: dict | None = None, **extra) -> CustomerFile:
    data = {"customer": customer, "company": f"{customer.title()} GmbH", "contacts": CONTACTS,
            "pbxes": {customer: DESIRED_PBX} if pbxes is None else pbxes, **extra}
    return CustomerFile.model_validate(data, strict=False)


def snapshot(customers: dict | None = None, **extra) -> Snapshot:
    """customers: id -> {pbx name: current pbx dict}; None gives acme with its one PBX."""
    if customers is None:
        customers = {"acme": {"acme": CURRENT_PBX}}
    data = {"as_of": "2026-11-18", **extra,
            "customers": {cid: {"company": f"{cid.title()} GmbH", "contacts": CONTACTS, "pbxes": pbxes}
                          for cid, pbxes in customers.items()}}
    return Snapshot.model_validate(data, strict=False)


def scene(current: dict | None = None, desired: dict | None = None, today: dt.date = TODAY,
          policy: Policy | None = None, catalog=None, complete: bool = True, **snapshot_extra) -> Plan:
    """Plan acme/acme: `current` and `desired` override the default PBX's keys."""
    current_pbx = merged(CURRENT_PBX, **(current or {}))
    desired_pbx = merged(DESIRED_PBX, **(desired or {}))
    return plan([customer_file(pbxes={"acme": desired_pbx})], snapshot({"acme": {"acme": current_pbx}},
                                                                        **snapshot_extra),
                today, policy or Policy(), catalog=catalog, complete=complete)


def steps(result: Plan, action: Action | None = None) -> list[Step]:
    return [s for s in result.steps if action is None or s.action is action]


def one(result: Plan, action: Action) -> Step:
    found = steps(result, action)
    assert len(found) == 1, [s.model_dump(mode="json") for s in result.steps]
    return found[0]


def diagnostics(result: Plan, rule: str) -> list:
    return [d for d in result.diagnostics if d.rule == rule]


def actions(result: Plan) -> list[str]:
    return [s.action.value for s in result.steps]


def as_json(result: Plan) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True)


def tagged(result: Plan, rule: str) -> list[Step]:
    return [s for s in result.steps if rule in s.rules]


__all__ = ["TODAY", "D", "CURRENT_PBX", "DESIRED_PBX", "Action", "Status", "Policy", "merged", "device",
           "customer_file", "snapshot", "scene", "steps", "one", "diagnostics", "actions", "as_json", "tagged",
           "plan"]
