"""Rules on HWaaS transfers between PBXs (RULES.md, "HWaaS devices": `transfer-conditions`, `transfer-effects`;
sources: seeds 000, 003).

A device moves to another PBX (of any customer) automatically only when both PBXs have the
same term and expiry, never to a lifetime PBX; otherwise Customer Care moves it on a ticket,
and an order that replaces it on its source waits for that. A transfer issues the sender a
credit note and starts the device's 6-month minimum again. Each rule below is one unit with its id.
"""

from __future__ import annotations

from reconciler.calendar import add_business_days, add_months
from reconciler.facts import CREDIT_NOTE_BUSINESS_DAYS, MINIMUM_MONTHS
from reconciler.plan.context import CustomerContext, Edge, Located, Verdict, error, info, term_change_start
from reconciler.plan.model import Action, Status, Step
from reconciler.rules.registry import Stage, rule


@rule("transfer-conditions", Stage.ORDER, needs_steps=True)
def transfer_conditions_source_term(ctx: CustomerContext):
    """An automatic transfer was judged on today's terms: it runs before its source's term change starts, so they
    still match then. A ticket needs no match, and a blocked transfer does not hold back license steps."""
    for step in ctx.steps:
        ready = step.action is Action.TRANSFER_HWAAS and step.status is Status.READY
        source = _source(ctx, step) if ready else None
        if source is None:
            continue
        start = term_change_start(ctx.plan_steps.on(source.customer, source.pbx))
        if start is not None:
            yield Edge(start.id, step.id, "transfer-conditions")


def _replacements(ctx: CustomerContext, transfer: Step) -> list[Step]:
    """Orders on a transfer's source PBX of the product it moves: the source counts the device as gone already."""
    source = _source(ctx, transfer)
    if source is None:
        return []
    return [s for s in ctx.plan_steps.on(source.customer, source.pbx)
            if s.action is Action.ORDER_HWAAS and s.changes.product == transfer.changes.product]


@rule("transfer-conditions", Stage.ORDER, needs_steps=True)
def transfer_conditions_replacement_waits(ctx: CustomerContext):
    """A manual transfer happens when Customer Care acts: the order that replaces the device on its source waits
    for it, so the source never holds one device more (and pays for it) in between."""
    for step in ctx.steps:
        if step.action is Action.TRANSFER_HWAAS and step.status is Status.MANUAL:
            for order in _replacements(ctx, step):
                yield Edge(order.id, step.id, "transfer-conditions")


@rule("transfer-conditions", Stage.NOTE, needs_steps=True)
def transfer_conditions_replacement_note(ctx: CustomerContext):
    for step in ctx.steps:
        if step.action is not Action.TRANSFER_HWAAS or step.status is not Status.MANUAL:
            continue
        for order in _replacements(ctx, step):
            yield info("transfer-conditions",
                       f"the order of {order.changes.quantity} {order.changes.product} for {order.address} "
                       f"waits for the Customer Care transfer of {', '.join(step.changes.serials)} to "
                       f"{step.address}: until then {order.pbx} keeps the device it replaces",
                       customer=order.customer, pbx=order.pbx)


def _source(ctx: CustomerContext, step):
    serials = step.changes.serials
    return ctx.devices.get(serials[0]) if serials else None


def _mismatch(source: Located, target, here: str) -> str | None:
    """Exactly which of the two conditions of an automatic transfer fails (same term, same expiry), or None."""
    giver = source.current
    if giver.term != target.term:
        also = " and the expiry dates" if giver.expires_on != target.expires_on else ""
        return (f"the terms{also} differ ({source.address}: {giver.term} until {giver.expires_on}, "
                f"{here}: {target.term} until {target.expires_on})")
    unknown = [address for address, pbx in ((source.address, giver), (here, target)) if pbx.expires_on is None]
    if unknown:
        return f"the expiry date of {' and '.join(unknown)} is not known"
    if giver.expires_on != target.expires_on:
        return f"the expiry dates differ ({giver.expires_on} and {target.expires_on})"
    return None


@rule("transfer-conditions", Stage.GATE, needs_steps=True)
def transfer_conditions(ctx: CustomerContext):
    """Automatic only between PBXs with the same term and expiry; otherwise a Customer Care ticket."""
    for view in ctx.pbxes:
        for step in view.of(Action.TRANSFER_HWAAS):
            source = _source(ctx, step)
            if source is None:
                continue
            serials = ", ".join(step.changes.serials)
            here = f"{ctx.customer}/{view.name}"
            ticket = f"open a Customer Care ticket to transfer {serials} from {source.address} to {here}"
            if source.device.billing == "capex":
                reason = f"{serials} is CAPEX on {source.address}: it must be moved and converted to HWaaS"
            elif view.current is None:
                reason = f"{view.name} is new: its expiry is not known until it is created"
            elif view.desired is not None and view.desired.term != view.current.term:
                reason = f"the term of {view.name} changes in this plan, and its expiry with it"
            elif (reason := _mismatch(source, view.current, here)) is None:
                yield Verdict(step.id, "transfer-conditions")
                continue
            yield Verdict(step.id, "transfer-conditions", Status.MANUAL,
                          instruction=f"{ticket}: automatic transfer needs the same term and expiry; {reason}")


@rule("transfer-conditions", Stage.NOTE, needs_steps=True)
def transfer_conditions_lifetime(ctx: CustomerContext):
    for view in ctx.pbxes:
        if view.term_after != "lifetime":
            continue
        transfers = view.of(Action.TRANSFER_HWAAS)
        if transfers:
            yield error("transfer-conditions", f"HWaaS cannot be transferred to {view.name}: its term is lifetime",
                        **ctx.where(view.name))


@rule("transfer-effects", Stage.NOTE, needs_steps=True)
def transfer_effects(ctx: CustomerContext):
    """Seed 003, step 4: the sender gets a credit note within 5 business days, the device is billed with the
    receiving PBX's licenses (its term and expiry), and it is kept 6 months from the transfer."""
    for view in ctx.pbxes:
        for step in view.of(Action.TRANSFER_HWAAS):
            source = _source(ctx, step)
            if source is None or source.device.billing != "hwaas":
                continue
            d = ctx.date_of(step) if step.status is not Status.MANUAL else None
            if d:
                note = add_business_days(d, CREDIT_NOTE_BUSINESS_DAYS)
                when = (f"a credit note is issued to {source.address} by {note}, "
                        f"and the devices are kept at least until {add_months(d, MINIMUM_MONTHS)}")
            else:
                when = (f"a credit note is issued to {source.address} within {CREDIT_NOTE_BUSINESS_DAYS} business days "
                        f"of the transfer, and the devices are kept at least {MINIMUM_MONTHS} months from it")
            expires = view.current.expires_on if view.current else None
            billed = f"{view.term_after}" + (f", until {expires}" if expires else "")
            yield Verdict(step.id, "transfer-effects")
            yield info("transfer-effects",
                       f"transferring {', '.join(step.changes.serials)} from {source.address} to {view.name}: "
                       f"{when}; their billing follows the licenses of {view.name} ({billed})",
                       **ctx.where(view.name))
