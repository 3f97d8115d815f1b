"""Builders shared by the sandbox tests (this module holds no tests; named test_sandbox_* to sit with them).

One scene, loaded into a sandbox in tmp_path: a few customers whose PBXs each stand for
a case the portal's rules treat differently (licensed cloud, other expiry, lifetime,
virtual without licenses, stopped, a customer with no PBX yet).
"""

from __future__ import annotations

import copy
import datetime as dt

from reconciler.plan.model import Action, Status, Step, new_step
from reconciler.providers.sandbox import SandboxProvider
from reconciler.snapshot import Snapshot

D = dt.date.fromisoformat
TODAY = D("2026-11-18")  # a Wednesday, mid-month
CONTACTS = [{"name": "Jane Doe", "email": "jane@acme.example"}]


def cloud(serial: str, expires_on: str = "2027-05-14", licenses: dict | None = None, devices: list | None = None,
          **extra) -> dict:
    return {"serial": serial, "model": "cloud", "region": "eu-central", "term": "1y", "activated_on": "2025-05-14",
            "expires_on": expires_on, "status": "active", "deletion_scheduled_on": None,
            "licenses": {"essential": 8} if licenses is None else licenses, "storage_gb": 50, "static_ip": False,
            "ssh": False, "devices": devices or [], **extra}


def premises(serial: str, model: str = "virtual", term: str = "lifetime", expires_on: str | None = None,
             licenses: dict | None = None, devices: list | None = None) -> dict:
    return {"serial": serial, "model": model, "term": term, "activated_on": "2021-02-15", "expires_on": expires_on,
            "status": "active", "deletion_scheduled_on": None, "licenses": licenses or {}, "devices": devices or []}


def device(serial: str, product: str = "WorkForce", billing: str = "hwaas", since: str | None = "2025-01-01",
           commitment: bool = False) -> dict:
    return {"serial": serial, "product": product, "billing": billing, "since": since, "commitment": commitment}


SCENE = {
    "as_of": TODAY.isoformat(),
    "partner": {"overdue_since": None},
    "stock": {"WorkForce": 1},
    "customers": {
        "acme": {"pbxes": {
            "acme": cloud("SW-00000007", licenses={"basic": 10, "essential": 30, "premium": 5}, devices=[
                device("9C7514000001"),
                device("9C7514000002", billing="capex", since=None),
                device("9C7514000003", "MonoLED", since="2026-09-01"),  # younger than 6 months
                device("9C7514000004", "MonoLED", since="2024-01-01", commitment=True)]),
            "acme-lab": premises("SW-00000008", term="1y", expires_on="2027-03-01")}},  # no licenses
        "globex": {"pbxes": {"globex": cloud("SW-00000009")}},  # same term and expiry as acme/acme
        "initech": {"pbxes": {"initech": cloud("SW-00000010", expires_on="2027-09-15")}},
        "tyrell": {"pbxes": {"tyrell": premises("HW-00000003", model="hardware", licenses={"basic": 5},
                                                devices=[device("9C7514000020", billing="capex", since=None)])}},
        "hooli": {"pbxes": {"hooli": premises("SW-00000011", term="1y", expires_on="2027-01-01", devices=[
            device("9C7514000010"), device("9C7514000011", billing="capex", since=None)])}},
        "umbrella": {"pbxes": {"umbrella": cloud("SW-00000012", licenses={}, status="stopped",
                                                 deletion_scheduled_on="2026-11-10")}},
        "cyberdyne": {"pbxes": {}},
    },
}


def scene(**changes) -> Snapshot:
    """The scene, with top-level keys replaced (e.g. partner={"overdue_since": ...})."""
    data = copy.deepcopy(SCENE) | changes
    for customer_id, customer in data["customers"].items():
        customer.setdefault("company", f"{customer_id.title()} GmbH")
        customer.setdefault("contacts", CONTACTS)
    return Snapshot.model_validate(data, strict=False)


def sandbox(tmp_path, snapshot: Snapshot | None = None) -> SandboxProvider:
    provider = SandboxProvider(tmp_path / "portal" / "sandbox.db")
    provider.load(snapshot if snapshot is not None else scene())
    return provider


def step(action: str, customer: str, pbx: str | None, changes: dict, status: str = "ready", **extra) -> Step:
    return new_step(Action(action), id=1, customer=customer, pbx=pbx, changes=changes, status=Status(status),
                    **extra)


def pbx_of(snapshot: Snapshot, address: str):
    customer, name = address.split("/")
    return snapshot.customers[customer].pbxes.get(name)


def serials(pbx) -> list[str]:
    return [d.serial for d in pbx.devices]
