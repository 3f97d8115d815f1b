"""The plan's cost totals: per customer and for the whole plan, charged now and per renewal, per term.

Renewals of different terms are never added together (a monthly +10.00 and a yearly
-120.00 are different invoices), so `recurring` is a mapping from term to amount. A step
whose cost is not known, or not fully (no date yet, a price missing, an action the price
book does not price), is listed in `unpriced_steps`, and what is not known of it is left
out of the sums (a step blocked with no date adds its known change per renewal).

A manual step happens when a person acts (a Customer Care ticket): its charge is shown
apart (`manual`), never in the totals of what applies now. A transfer's cost holds the
sender's item too (`billed_to`: its renewal goes down by what the receiver's goes up), so
the totals are the fleet's real change; a step counts for the customer it is planned on.
"""

from __future__ import annotations

from decimal import Decimal

from reconciler.plan.model import CostSummary, CostTotals, CustomerCosts, ManualCosts, Renewal, Status, Step
from reconciler.pricing.costs import ZERO


def cost_summary(steps: list[Step], currency: str, renewals: dict[str, dict[str, Renewal]]) -> CostSummary:
    by_customer: dict[str, list[Step]] = {}
    for step in steps:
        by_customer.setdefault(step.customer, []).append(step)
    customers = {name: CustomerCosts(**_totals(by_customer.get(name, [])).model_dump(),
                                     renewals=renewals.get(name, {}))
                 for name in sorted(set(by_customer) | set(renewals))}
    return CostSummary(currency=currency, by_customer=customers, **_totals(steps).model_dump())


def _totals(steps: list[Step]) -> CostTotals:
    applies = _sums([s for s in steps if s.status is not Status.MANUAL])
    manual = [s for s in steps if s.status is Status.MANUAL and s.cost is not None]
    apart = None
    if manual:
        sums = _sums(manual)
        apart = ManualCosts(steps=[s.id for s in manual], one_off=None if sums.unpriced_steps else sums.one_off,
                            recurring=None if sums.unpriced_steps else sums.recurring)
    return applies.model_copy(update={"manual": apart})


def _sums(steps: list[Step]) -> CostTotals:
    one_off = ZERO
    recurring: dict[str, Decimal] = {}
    unpriced = []
    for step in steps:
        cost = step.cost
        if cost is None or cost.one_off is None or cost.recurring is None:
            unpriced.append(step.id)
        if cost is None:
            continue
        one_off += cost.one_off or ZERO
        for term, amount in (cost.recurring or {}).items():
            recurring[term] = recurring.get(term, ZERO) + amount
    return CostTotals(one_off=one_off, recurring=recurring, unpriced_steps=unpriced)
