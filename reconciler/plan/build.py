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
from reconciler.plan.changes import (ChangeTerm, Changes, CreateCustomer, CreatePbx, LicenseMoves, PurchaseHardwarePbx,
                                     SetOptions)
from reconciler.plan.model import Action, Step, new_step
from reconciler.snapshot import CurrentCustomer, CurrentPbx


class StepFactory:
    """Hands out candidate steps with provisional ids, in the order they are created."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, customer: str, pbx: str | None, action: Action, changes: Changes) -> Step:
        step = new_step(action, id=len(self.steps) + 1, customer=customer, pbx=pbx, changes=changes)
        self.steps.append(step)
        return step

    def for_pbx(self, customer: str, pbx: str) -> Callable[[Action, Changes], Step]:
        return lambda action, changes: self.add(customer, pbx, action, changes)


def build_customer(factory: StepFactory, customer: str, desired: CustomerFile | None,
                   current: CurrentCustomer | None, claims: dict[str, Address],
                   located: dict[str, Located]) -> None:
    """Candidate steps of one customer. `desired` None: decommission every PBX (prune)."""
    if current is None and desired is not None:
        factory.add(customer, None, Action.CREATE_CUSTOMER, CreateCustomer(
            company=desired.company, contacts=[contact.model_dump() for contact in desired.contacts]))
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


def license_pairs(before: Licenses, after: Licenses) -> dict[str, tuple[int, int]]:
    """Profile -> (before, after) of each profile that moves, in PROFILES order."""
    old, new = before.counts(), after.counts()
    return {p: (old[p], new[p]) for p in PROFILES if old[p] != new[p]}


def _decommission(add, current: CurrentPbx) -> None:
    """Absent from the file: every license removed (the rules judge whether that is allowed)."""
    pairs = license_pairs(current.licenses, Licenses())
    if pairs:
        add(Action.REMOVE_LICENSES, LicenseMoves.of(pairs))


def _create(add, name: str, desired: DesiredPbx) -> None:
    if desired.model == "hardware":
        add(Action.PURCHASE_HARDWARE_PBX, PurchaseHardwarePbx(product=HARDWARE_PBX_PRODUCT, quantity=1))
    add(Action.CREATE_PBX, CreatePbx(name=name, model=desired.model, term=desired.term,
                                     licenses=desired.licenses.counts(), region=desired.region,
                                     **{option: getattr(desired, option) for option in CLOUD_OPTIONS}))


def _update(add, current: CurrentPbx, desired: DesiredPbx) -> None:
    move: dict[str, tuple] = {}
    if current.model != desired.model:
        move["model"] = (current.model, desired.model)
    if desired.model == "cloud" and desired.region is not None and desired.region != current.region:
        move["region"] = (current.region, desired.region)
    if move:
        add(Action.SET_OPTIONS, SetOptions(**move))

    if current.term != desired.term:
        # through zero: remove every license, change the term, add the desired counts back
        if current.licenses.total():
            add(Action.REMOVE_LICENSES, LicenseMoves.of(license_pairs(current.licenses, Licenses())))
        add(Action.CHANGE_TERM, ChangeTerm(term=(current.term, desired.term)))
        if desired.licenses.total():
            add(Action.ADD_LICENSES, LicenseMoves.of(license_pairs(Licenses(), desired.licenses)))
    else:
        pairs = license_pairs(current.licenses, desired.licenses)
        increases = {k: v for k, v in pairs.items() if v[1] > v[0]}
        decreases = {k: v for k, v in pairs.items() if v[1] < v[0]}
        if increases:
            add(Action.ADD_LICENSES, LicenseMoves.of(increases))
        if decreases:
            add(Action.REMOVE_LICENSES, LicenseMoves.of(decreases))

    options: dict[str, tuple] = {}
    for option in CLOUD_OPTIONS:
        before, after = getattr(current, option), getattr(desired, option)
        if after is not None and after != before:
            options[option] = (before, after)
    storage = options.get("storage_gb")
    decrease = options.pop("storage_gb") if storage and storage[0] is not None and storage[1] < storage[0] else None
    if options:
        add(Action.SET_OPTIONS, SetOptions(**options))
    if decrease:
        add(Action.SET_OPTIONS, SetOptions(storage_gb=decrease))  # a decrease: its own (manual) step
