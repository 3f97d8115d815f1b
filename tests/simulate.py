"""The convergence oracle: apply a plan's steps to a snapshot in memory, what the portal would hold afterwards.

Pure: `apply_steps(snapshot, steps) -> snapshot`. It proves the planner converges (apply
the ready steps, plan again: nothing left to do); it is a test's model of the portal, not
production logic (the sandbox, reconciler.sandbox, is the portal's own emulation). Only
ready steps whose dependencies were applied are applied; blocked and manual ones wait.
What the portal decides on its own is mimicked simply: a new or re-termed PBX expires one
term after `as_of`; a cloud PBX at zero licenses is scheduled for deletion on `as_of`;
ordered devices get serials SIM000001, SIM000002, ... (the first free ones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from reconciler.facts import expiry
from reconciler.plan.model import Status, Step
from reconciler.snapshot import Snapshot


def apply_steps(snapshot: Snapshot, steps: Iterable[Step]) -> Snapshot:
    data = snapshot.model_dump()
    state = _State(data, snapshot.as_of)
    applied: set[int] = set()
    for step in steps:
        if step.status is not Status.READY or any(d not in applied for d in step.depends_on):
            continue
        state.apply(step)
        applied.add(step.id)
    return Snapshot.model_validate(data)


class _State:
    def __init__(self, data: dict, as_of: dt.date):
        self.data, self.as_of = data, as_of
        self.serials = self._free_serials()

    def _free_serials(self) -> Iterator[str]:
        taken = {d["serial"] for c in self.data["customers"].values() for p in c["pbxes"].values()
                 for d in p["devices"]}
        n = 0
        while True:
            n += 1
            if f"SIM{n:06d}" not in taken:
                yield f"SIM{n:06d}"

    def pbx(self, customer: str, name: str) -> dict:
        return self.data["customers"][customer]["pbxes"][name]

    def apply(self, step: Step) -> None:
        getattr(self, "_" + step.action.value.replace("-", "_"))(step)

    def _create_customer(self, step: Step) -> None:
        self.data["customers"][step.customer] = {"company": step.changes.company,
                                                 "contacts": [c.model_dump() for c in step.changes.contacts],
                                                 "pbxes": {}}

    def _purchase_hardware_pbx(self, step: Step) -> None:
        pass  # the box is bought; the portal knows the PBX once create-pbx activates it

    def _create_pbx(self, step: Step) -> None:
        form = step.changes
        self.data["customers"][step.customer]["pbxes"][step.pbx] = {
            "serial": f"SW-{step.customer}-{step.pbx}", "model": form.model, "region": form.region,
            "term": form.term, "activated_on": self.as_of, "expires_on": expiry(self.as_of, form.term),
            "status": "active", "deletion_scheduled_on": None, "licenses": dict(form.licenses),
            "storage_gb": form.storage_gb, "static_ip": form.static_ip, "ssh": form.ssh,
            "devices": [],
        }

    def _licenses(self, step: Step) -> None:
        pbx = self.pbx(step.customer, step.pbx)
        for profile, (_, after) in step.changes.moves().items():
            pbx["licenses"][profile] = after
        total = sum(pbx["licenses"].values())
        if total == 0 and pbx["model"] == "cloud" and pbx["status"] == "active":
            pbx["status"], pbx["deletion_scheduled_on"] = "deletion-scheduled", self.as_of
        elif total > 0 and pbx["status"] == "deletion-scheduled":
            pbx["status"], pbx["deletion_scheduled_on"] = "active", None

    _add_licenses = _remove_licenses = _licenses

    def _change_term(self, step: Step) -> None:
        pbx = self.pbx(step.customer, step.pbx)
        pbx["term"] = step.changes.term[1]
        pbx["expires_on"] = expiry(self.as_of, pbx["term"])

    def _set_options(self, step: Step) -> None:
        pbx = self.pbx(step.customer, step.pbx)
        for key, (_, after) in step.changes.moves().items():
            pbx[key] = after

    def _stock(self, product: str, delta: int) -> None:
        if product in self.data["stock"]:
            self.data["stock"][product] += delta

    def _order_hwaas(self, step: Step) -> None:
        product, quantity = step.changes.product, step.changes.quantity
        devices = self.pbx(step.customer, step.pbx)["devices"]
        for _ in range(quantity):
            devices.append({"serial": next(self.serials), "product": product, "billing": "hwaas",
                            "since": self.as_of, "commitment": False})
        self._stock(product, -quantity)

    def _convert_to_hwaas(self, step: Step) -> None:
        for device in self.pbx(step.customer, step.pbx)["devices"]:
            if device["serial"] in step.changes.serials:
                device["billing"], device["since"] = "hwaas", self.as_of

    def _transfer_hwaas(self, step: Step) -> None:
        source_customer, source_pbx = step.changes.source.split("/", 1)
        source = self.pbx(source_customer, source_pbx)["devices"]
        moving = [d for d in source if d["serial"] in step.changes.serials]
        source[:] = [d for d in source if d["serial"] not in step.changes.serials]
        for device in moving:  # a transfer starts the 6-month minimum again (seed 003)
            device["billing"], device["since"] = "hwaas", self.as_of
        self.pbx(step.customer, step.pbx)["devices"].extend(moving)

    def _return_hwaas(self, step: Step) -> None:
        devices = self.pbx(step.customer, step.pbx)["devices"]
        devices[:] = [d for d in devices if d["serial"] not in step.changes.serials]
        self._stock(step.changes.product, step.changes.quantity)
