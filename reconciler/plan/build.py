"""The diff: candidate steps for one customer, PBX by PBX, in their natural order.

This module only says *what* changes (FORMAT.md section 2 semantics). Statuses, dates,
dependencies and diagnostics are the rules' business (reconciler.rules.*), and the
final order and numbering the planner's. Candidate ids are provisional.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.desired import CustomerFile, DesiredPbx
from reconciler.domain import CLOUD_OPTIONS, PROFILES, Licenses
from reconciler.facts import HARDWARE_PBX_PRODUCT
from reconciler.plan.context import Located
from reconciler.plan.devices import Address, device_steps
from reconciler.plan.model import Action, Step
from reconciler.snapshot import CurrentCustomer, CurrentPbx


class StepFactory:
    """Hands out candidate steps with provisional ids, in the order they are created."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, customer: str, pbx: str | None, action: Action, changes: dict) -> Step:
        step = Step(id=len(self.steps) + 1, customer=customer, pbx=pbx, action=action, changes=changes)
        self.steps.append(step)
        return step

    def for_pbx(self, customer: str, pbx: str) -> Callable[[Action, dict], Step]:
        return lambda action, changes: self.add(customer, pbx, action, changes)


def build_customer(factory: StepFactory, customer: str, desired: CustomerFile | None,
                   current: CurrentCustomer | None, claims: dict[str, Address],
                   located: dict[str, Located]) -> None:
    """Candidate steps of one customer. `desired` None: decommission every PBX (prune)."""
    if current is None and desired is not None:
        factory.add(customer, None, Action.CREATE_CUSTOMER, {
            "company": desired.company,
            "contacts": [contact.model_dump() for contact in desired.contacts],
        })
    wanted = desired.pbxes if desired else {}
    present = current.pbxes if current else {}
    for name in sorted(set(wanted) | set(present)):
        add = factory.for_pbx(customer, name)
        if name not in wanted:
            _decommission(add, present[name])
            device_steps(add, customer, name, None, present[name], claims, located)
        elif name not in present:
            _create(add, name, wanted[name])
            device_steps(add, customer, name, wanted[name], None, claims, located)
        else:
            _update(add, present[name], wanted[name])
            device_steps(add, customer, name, wanted[name], present[name], claims, located)


def license_pairs(before: Licenses, after: Licenses) -> dict[str, list[int]]:
    old, new = before.counts(), after.counts()
    return {f"licenses.{p}": [old[p], new[p]] for p in PROFILES if old[p] != new[p]}


def _decommission(add, current: CurrentPbx) -> None:
    """Absent from the file: every license removed (the rules judge whether that is allowed)."""
    changes = license_pairs(current.licenses, Licenses())
    if changes:
        add(Action.REMOVE_LICENSES, changes)


def _create(add, name: str, desired: DesiredPbx) -> None:
    if desired.model == "hardware":
        add(Action.PURCHASE_HARDWARE_PBX, {"product": HARDWARE_PBX_PRODUCT, "quantity": 1})
    form = {"name": name, "model": desired.model, "term": desired.term, "licenses": desired.licenses.counts()}
    if desired.region is not None:
        form["region"] = desired.region
    for option in CLOUD_OPTIONS:
        if getattr(desired, option) is not None:
            form[option] = getattr(desired, option)
    add(Action.CREATE_PBX, form)


def _update(add, current: CurrentPbx, desired: DesiredPbx) -> None:
    move: dict[str, list] = {}
    if current.model != desired.model:
        move["model"] = [current.model, desired.model]
    if desired.model == "cloud" and desired.region is not None and desired.region != current.region:
        move["region"] = [current.region, desired.region]
    if move:
        add(Action.SET_OPTIONS, move)

    if current.term != desired.term:
        # through zero: remove every license, change the term, add the desired counts back
        if current.licenses.total():
            add(Action.REMOVE_LICENSES, license_pairs(current.licenses, Licenses()))
        add(Action.CHANGE_TERM, {"term": [current.term, desired.term]})
        if desired.licenses.total():
            add(Action.ADD_LICENSES, license_pairs(Licenses(), desired.licenses))
    else:
        pairs = license_pairs(current.licenses, desired.licenses)
        increases = {k: v for k, v in pairs.items() if v[1] > v[0]}
        decreases = {k: v for k, v in pairs.items() if v[1] < v[0]}
        if increases:
            add(Action.ADD_LICENSES, increases)
        if decreases:
            add(Action.REMOVE_LICENSES, decreases)

    options: dict[str, list] = {}
    for option in CLOUD_OPTIONS:
        before, after = getattr(current, option), getattr(desired, option)
        if after is not None and after != before:
            options[option] = [before, after]
    storage = options.get("storage_gb")
    decrease = options.pop("storage_gb") if storage and storage[0] is not None and storage[1] < storage[0] else None
    if options:
        add(Action.SET_OPTIONS, options)
    if decrease:
        add(Action.SET_OPTIONS, {"storage_gb": decrease})  # a decrease: its own (manual) step
