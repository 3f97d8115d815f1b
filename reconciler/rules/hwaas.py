"""Rules on HWaaS devices (RULES.md, "HWaaS devices"; sources: seeds 000, 002, 003).

Rented devices follow their PBX's term, are kept at least 6 months, exist only on a
subscription PBX, go back when their PBX is decommissioned, and cannot be ordered,
converted or transferred while the partner is overdue. Transfers between PBXs have their
own module (reconciler.rules.transfers). Each rule below is one unit with its id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from reconciler.calendar import add_business_days, add_months
from reconciler.facts import CREDIT_NOTE_BUSINESS_DAYS, DELETED_AFTER, MINIMUM_MONTHS, OVERDUE_GRACE_DAYS, expiry
from reconciler.plan.context import (CustomerContext, Edge, PlanContext, Verdict, error, info, license_totals,
                                     term_change_start, warning)
from reconciler.plan.model import Action, Status
from reconciler.rules.registry import Stage, rule
from reconciler.rules.validation import unknown_products
from reconciler.snapshot import Device

HARDWARE_ACTIONS = (Action.ORDER_HWAAS, Action.CONVERT_TO_HWAAS, Action.TRANSFER_HWAAS,
                    Action.PURCHASE_HARDWARE_PBX)
ACQUIRING = (Action.ORDER_HWAAS, Action.CONVERT_TO_HWAAS, Action.TRANSFER_HWAAS)


def pick_returns(candidates: Iterable[Device], count: int) -> list[Device]:
    """`return-oldest-first`: the `count` oldest devices (by `since`, unknown first, then serial).

    The caller passes only eligible devices: HWaaS, unpinned, not leaving for another PBX.
    """
    oldest = sorted(candidates, key=lambda d: (d.since or dt.date.min, d.serial))
    return oldest[:max(count, 0)]


@rule("return-oldest-first", Stage.ORDER, needs_steps=True)
def return_oldest_first(ctx: CustomerContext):
    for step in ctx.steps:
        if step.action is Action.RETURN_HWAAS:
            yield Verdict(step.id, "return-oldest-first")


@rule("hwaas-follows-pbx-term", Stage.ORDER, needs_steps=True)
def hwaas_follows_pbx_term_order(ctx: CustomerContext):
    """Devices coming to a PBX whose term changes wait for the new term: they take it."""
    for view in ctx.pbxes:
        chain = view.of(Action.CHANGE_TERM) + view.of(Action.ADD_LICENSES)
        if not view.first(Action.CHANGE_TERM):
            continue
        for step in view.of(*ACQUIRING):
            yield Edge(step.id, chain[-1].id, "hwaas-follows-pbx-term")


def _no_subscription(view) -> str | None:
    """Why HWaaS cannot be on the PBX after the plan (only subscription PBXs: 1m, 1y, 5y with licenses), or None."""
    if view.term_after == "lifetime":
        return "its term is lifetime"
    if view.licenses_after() == 0:
        return "it has no subscription (no licenses) after the plan"
    return None


@rule("hwaas-needs-subscription", Stage.ORDER, needs_steps=True)
def hwaas_needs_subscription_returns_first(ctx: CustomerContext):
    """The portal keeps no HWaaS on a lifetime PBX: the returns come before the term change starts, and a
    blocked or manual return holds it back."""
    for view in ctx.pbxes:
        start = term_change_start(view.steps)
        if start is None or view.term_after != "lifetime" or view.of(*ACQUIRING):
            continue  # devices coming to a lifetime PBX are an error already (and they wait for its term)
        for step in view.of(Action.RETURN_HWAAS):
            yield Edge(start.id, step.id, "hwaas-needs-subscription")


@rule("hwaas-needs-subscription", Stage.ORDER, needs_steps=True)
def hwaas_needs_subscription_licenses_first(ctx: CustomerContext):
    """The portal judges a PBX as it is when the step runs: on a PBX with no licenses yet, devices come once the
    step that licenses it has run (licenses moved from another PBX of the customer come after its removal)."""
    for view in ctx.pbxes:
        if view.current is None or view.current.licenses.total() > 0:
            continue  # a new PBX's steps wait for create-pbx; a term change's for its add (hwaas-follows-pbx-term)
        licensing = next((step for step, total in license_totals(view) if total > 0), None)
        if licensing is None:
            continue
        for step in view.of(*ACQUIRING):
            yield Edge(step.id, licensing.id, "hwaas-needs-subscription")


def _decommissioned(view) -> bool:
    """Removed from its file, pruned, or left with no licenses for good: its devices go back."""
    return view.current is not None and view.licenses_after() == 0


def _emptying(view) -> Step | None:
    """The removal that leaves a decommissioned PBX with no licenses (None if it has none already)."""
    return next((step for step, total in license_totals(view)
                 if step.action is Action.REMOVE_LICENSES and total == 0), None)


@rule("decommission-returns-hwaas", Stage.ORDER, needs_steps=True)
def decommission_returns_hwaas(ctx: CustomerContext):
    """A decommissioned PBX's devices go back while it still has its subscription: the removal of its last
    licenses waits for the returns that can go now (not for a blocked or manual one: see the warning below)."""
    for view in ctx.pbxes:
        if not _decommissioned(view):
            continue
        removal = _emptying(view)
        for step in view.of(Action.RETURN_HWAAS):
            yield Verdict(step.id, "decommission-returns-hwaas")
            if removal is not None and step.status is Status.READY:
                yield Edge(removal.id, step.id, "decommission-returns-hwaas")


@rule("hwaas-needs-subscription", Stage.GATE, needs_steps=True)
def hwaas_needs_subscription(ctx: CustomerContext):
    """HWaaS only for subscription PBXs (seed 000): an order for a PBX left without licenses cannot go."""
    for view in ctx.pbxes:
        orders = view.of(Action.ORDER_HWAAS)
        why = _no_subscription(view) if orders else None
        if why is None:
            continue
        text = f"HWaaS cannot be ordered for {view.name}: {why}, and HWaaS is only for subscription PBXs"
        for step in orders:
            yield Verdict(step.id, "hwaas-needs-subscription", Status.BLOCKED, None, text)
        yield error("hwaas-needs-subscription", text, **ctx.where(view.name))


@rule("overdue-blocks-hardware", Stage.GATE, needs_steps=True)
def overdue_blocks_hardware(ctx: CustomerContext):
    since = ctx.snapshot.partner.overdue_since
    if since is None or (ctx.today - since).days <= OVERDUE_GRACE_DAYS:
        return
    text = (f"the partner has invoices overdue since {since} (more than {OVERDUE_GRACE_DAYS} days): "
            "no hardware can be ordered, converted or transferred until they are paid")
    for step in ctx.steps:
        if step.action in HARDWARE_ACTIONS:
            yield Verdict(step.id, "overdue-blocks-hardware", Status.BLOCKED, None, text)


def _returned(ctx: CustomerContext, step) -> list[Device]:
    return [ctx.devices[s].device for s in step.changes.serials if s in ctx.devices]


@rule("hwaas-minimum-term", Stage.GATE, needs_steps=True)
def hwaas_minimum_term(ctx: CustomerContext):
    for step in ctx.steps:
        if step.action is not Action.RETURN_HWAAS:
            continue
        dates = [add_months(d.since, MINIMUM_MONTHS) for d in _returned(ctx, step)
                 if d.since is not None and not d.commitment]
        until = max(dates, default=None)
        if until is not None and until > ctx.today:
            since = add_months(until, -MINIMUM_MONTHS)
            yield Verdict(step.id, "hwaas-minimum-term", Status.BLOCKED, until,
                          f"HWaaS is kept at least {MINIMUM_MONTHS} months from its start ({since}): "
                          f"an earlier return is billed until {until} anyway")


@rule("commitment-return-manual", Stage.GATE, needs_steps=True)
def commitment_return_manual(ctx: CustomerContext):
    for step in ctx.steps:
        if step.action is Action.RETURN_HWAAS and any(d.commitment for d in _returned(ctx, step)):
            yield Verdict(step.id, "commitment-return-manual", Status.MANUAL,
                          instruction="the devices are under a commitment: submit a Customer Care case "
                                      "(HWaaS cancellation) to return them")


@rule("decommission-returns-hwaas", Stage.NOTE, needs_steps=True)
def decommission_returns_hwaas_still_billed(ctx: CustomerContext):
    """The returns of a decommissioned PBX that cannot go now: the devices stay billed, and a cloud PBX's vanish
    with it when the portal deletes it (D+14 from its last license's removal)."""
    for view in ctx.pbxes:
        waiting = [s for s in view.of(Action.RETURN_HWAAS) if s.status is not Status.READY]
        if not waiting or not _decommissioned(view):
            continue
        serials = ", ".join(serial for step in waiting for serial in step.changes.serials)
        text = (f"{view.name} is left with no licenses, but its HWaaS devices {serials} cannot be returned now: "
                "they stay billed until returned (see their return steps)")
        removal = _emptying(view)
        d = ctx.date_of(removal) if removal is not None else None
        if view.current.model == "cloud" and d is not None:
            text += f", and vanish with the PBX when it is deleted on {d + dt.timedelta(days=DELETED_AFTER)}"
        yield warning("decommission-returns-hwaas", text, **ctx.where(view.name))


@rule("hwaas-unmanaged", Stage.NOTE)
def hwaas_unmanaged(ctx: CustomerContext):
    """No `hwaas` key: the PBX's rented devices are left alone (FORMAT.md), and the plan says so."""
    for view in ctx.pbxes:
        if view.desired is None or view.desired.manages_hwaas or view.current is None:
            continue
        rented = sorted(d.serial for d in view.current.devices
                        if d.billing == "hwaas" and d.serial not in view.desired.pinned)
        if rented:
            yield info("hwaas-unmanaged",
                       f"HWaaS on {view.name} is not managed (its file has no 'hwaas' key): {len(rented)} "
                       f"device(s) left alone ({', '.join(rented)}); write 'hwaas: {{}}' to return them",
                       **ctx.where(view.name))


@rule("pinned-within-count", Stage.NOTE)
def pinned_within_count(ctx: CustomerContext):
    """Counts include pinned devices (FORMAT.md): a count below the devices pinned of that product is a mistake
    (the product of a pinned serial is known from the portal, so the planner judges it)."""
    for view in ctx.pbxes:
        desired = view.desired
        if desired is None or "hwaas" not in desired.model_fields_set:
            continue  # no count to compare with: the pins are all that is managed
        pinned: dict[str, list[str]] = {}
        for serial in sorted(desired.pinned):
            if serial in ctx.devices:
                pinned.setdefault(ctx.devices[serial].device.product, []).append(serial)
        for product, serials in sorted(pinned.items()):
            count = desired.hwaas.get(product, 0)
            if count < len(serials):
                yield error("pinned-within-count",
                            f"PBX '{view.name}' pins {len(serials)} {product} ({', '.join(serials)}) but its hwaas "
                            f"count of {product} is {count}: counts include pinned devices", **ctx.where(view.name))


@rule("convert-preconditions", Stage.NOTE, needs_steps=True)
def convert_preconditions(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.CONVERT_TO_HWAAS):
            why = _no_subscription(view)
            if why is None:
                continue
            yield Verdict(step.id, "convert-preconditions")
            yield error("convert-preconditions", f"devices on {view.name} cannot be converted to HWaaS: {why}",
                        **ctx.where(view.name))


@rule("conversion-effects", Stage.NOTE, needs_steps=True)
def conversion_effects(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.CONVERT_TO_HWAAS):
            d = ctx.date_of(step)
            if d:
                when = (f"a credit note is issued by {add_business_days(d, CREDIT_NOTE_BUSINESS_DAYS)}, "
                        f"and the devices are kept at least until {add_months(d, MINIMUM_MONTHS)}")
            else:
                when = (f"a credit note is issued within {CREDIT_NOTE_BUSINESS_DAYS} business days, and the "
                        f"devices are kept at least {MINIMUM_MONTHS} months")
            yield Verdict(step.id, "conversion-effects")
            yield info("conversion-effects",
                       f"converting {step.changes.quantity} {step.changes.product} on {view.name}: {when}; "
                       f"their billing follows the PBX term ({view.term_after})", **ctx.where(view.name))


@rule("hwaas-follows-pbx-term", Stage.NOTE, needs_steps=True)
def hwaas_follows_pbx_term(ctx: CustomerContext):
    for view in ctx.pbxes:
        expires = view.current.expires_on if view.current and view.first(Action.CHANGE_TERM) is None else None
        until = f"expire with it on {expires}" if expires else "expire with it"
        for step in view.of(Action.ORDER_HWAAS):
            d = ctx.date_of(step)
            start = f" from {d}" if d else ""
            yield Verdict(step.id, "hwaas-follows-pbx-term")
            yield info("hwaas-follows-pbx-term",
                       f"the {step.changes.quantity} {step.changes.product} ordered for {view.name} take its "
                       f"term ({view.term_after}) and {until}, billed prorated{start}", **ctx.where(view.name))
        change = view.first(Action.CHANGE_TERM)
        moving = _staying(ctx, view) if change else []
        if moving:
            d = ctx.date_of(change)
            renews = expiry(d, view.term_after) if d else None
            until = f", expiring with it on {renews}" if renews else ""
            yield Verdict(change.id, "hwaas-follows-pbx-term")
            yield info("hwaas-follows-pbx-term",
                       f"the HWaaS devices on {view.name} ({', '.join(moving)}) follow its term change to "
                       f"{view.term_after}{until}", **ctx.where(view.name))


def _staying(ctx: CustomerContext, view) -> list[str]:
    """The serials of the PBX's HWaaS devices that stay on it through the plan (not returned, not moved away)."""
    if view.current is None:
        return []
    here = f"{ctx.customer}/{view.name}"
    leaving = {serial for s in ctx.plan_steps.leaving(here) for serial in s.changes.serials}
    leaving |= {serial for s in view.of(Action.RETURN_HWAAS) for serial in s.changes.serials}
    return sorted(d.serial for d in view.current.devices if d.billing == "hwaas" and d.serial not in leaving)


@rule("hwaas-agreement", Stage.NOTE, needs_steps=True)
def hwaas_agreement(ctx: CustomerContext):
    current = ctx.current.pbxes.values() if ctx.current else ()
    if any(d.billing == "hwaas" for pbx in current for d in pbx.devices):
        return
    steps = [s for s in ctx.steps if s.action in ACQUIRING]
    if not steps:
        return
    for step in steps:
        yield Verdict(step.id, "hwaas-agreement")
    yield info("hwaas-agreement",
               f"first HWaaS for {ctx.customer}: send the HWaaS agreement signed by the customer to the Area Manager "
               "before ordering", customer=ctx.customer)


@rule("known-product", Stage.NOTE)
def known_product_orders(ctx: CustomerContext):
    """The validation rule judged again with the catalog the planner is given (the provider's, which the loader
    may not know): the orders of an unknown product are tagged with it."""
    for view in ctx.pbxes:
        if view.desired is None:
            continue
        for product, hint in unknown_products(view.desired.hwaas, ctx.catalog):
            for step in view.of(Action.ORDER_HWAAS):
                if step.changes.product == product:
                    yield Verdict(step.id, "known-product")
            yield error("known-product", f"product '{product}' is not in the catalog{hint}", **ctx.where(view.name))


@rule("negative-stock", Stage.PLAN)
def negative_stock(ctx: PlanContext):
    stock = dict(ctx.snapshot.stock)
    for step in ctx.steps:
        if step.action is not Action.ORDER_HWAAS or step.changes.product not in stock:
            continue
        product = step.changes.product
        before = stock[product]
        after = before - step.changes.quantity
        stock[product] = after
        if after < 0:
            yield Verdict(step.id, "negative-stock")
            yield info("negative-stock",
                       f"ordering {step.changes.quantity} {product} for {step.address}: the stock goes from "
                       f"{before} to {after} (a backorder)", customer=step.customer, pbx=step.pbx)
