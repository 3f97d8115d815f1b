"""What an order expects to find on its PBX: the precondition the portal checks before it orders.

Two plans made from the same portal state both say "order 50 WorkForce". If both are carried
out (two applies one after the other, a lock broken while its holder lived), the PBX gets 100.
So every `order-hwaas` step records in its changes the HWaaS count of its product it expects on
its PBX when it runs (`"expected": {"WorkForce": 0}`), and the portal refuses the order when the
PBX holds another count (`stale-plan`): the second order is refused, the devices ordered once.

The count is the portal's at plan time moved by the ready steps before the order in plan order
(conversions and transfers in add, transfers out and returns take away, earlier orders add):
apply carries out the ready steps of a PBX in plan order, and blocked or manual ones not at all.
License steps need nothing more: their `[before, after]` pairs are their precondition already,
and a return names the serials it returns.
"""

from __future__ import annotations

from reconciler.plan.model import DEVICE_ACTIONS, Action, Status, Step
from reconciler.snapshot import Snapshot

Key = tuple[str, str, str]  # (customer, pbx, product)


class HwaasCounts(dict):
    """HWaaS devices per PBX and product in the portal, (customer, pbx, product) -> count.

    Each is counted from the snapshot when first asked for: the device steps of a plan touch a
    few of the portal's PBXs, and counting every device of a large portal cost more than the rest.
    """

    def __init__(self, snapshot: Snapshot):
        super().__init__()
        self.snapshot = snapshot

    def __missing__(self, key: Key) -> int:
        customer_id, name, product = key
        customer = self.snapshot.customers.get(customer_id)
        pbx = customer.pbxes.get(name) if customer is not None else None
        count = sum(d.billing == "hwaas" and d.product == product for d in pbx.devices) if pbx is not None else 0
        self[key] = count
        return count


def with_expected_counts(steps: list[Step], snapshot: Snapshot) -> list[Step]:
    """The plan's steps (in plan order), each order carrying the count it expects on its PBX."""
    counts = HwaasCounts(snapshot)
    result = []
    for step in steps:
        if step.action not in DEVICE_ACTIONS:
            result.append(step)
            continue
        key = (step.customer, step.pbx or "", step.changes.product)
        if step.action is Action.ORDER_HWAAS:
            expected = step.changes.model_copy(update={"expected": {key[2]: counts[key]}})
            step = step.model_copy(update={"changes": expected})
        if step.status is Status.READY:
            _move(counts, step, key)
        result.append(step)
    return result


def _move(counts: HwaasCounts, step: Step, key: Key) -> None:
    quantity = step.changes.quantity
    if step.action in (Action.ORDER_HWAAS, Action.CONVERT_TO_HWAAS):
        counts[key] += quantity
    elif step.action is Action.RETURN_HWAAS:
        counts[key] -= quantity
    elif step.action is Action.TRANSFER_HWAAS:
        counts[key] += quantity
        if step.changes.billing is None:  # a CAPEX device was not counted where it comes from
            customer, _, pbx = step.changes.source.partition("/")
            counts[(customer, pbx, key[2])] -= quantity
