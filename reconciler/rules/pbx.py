"""Rules on PBXs and customers (RULES.md, "PBXs and customers"; source: seed 004).

What must exist before what (customer, purchased hardware), what the portal's forms
cannot do and a person must (model, region, storage decrease), what to remember after an
activation, and the customers the repo does not manage.
"""

from __future__ import annotations

from reconciler.calendar import add_business_days
from reconciler.facts import ACTIVATION_REPORT_BUSINESS_DAYS
from reconciler.plan.context import (CustomerContext, Edge, PlanContext, Verdict, error, info,
                                     warning)
from reconciler.plan.model import Action, Status
from reconciler.rules.registry import Stage, rule



@rule("customer-before-pbx", Stage.ORDER, needs_steps=True)
def customer_before_pbx(ctx: CustomerContext):
    """A new customer exists before its PBXs are created or a hardware PBX is bought for it."""
    create = next((s for s in ctx.steps if s.action is Action.CREATE_CUSTOMER), None)
    pbxes = [step for view in ctx.pbxes for step in view.of(Action.PURCHASE_HARDWARE_PBX, Action.CREATE_PBX)]
    if create is None or not pbxes:
        return
    yield Verdict(create.id, "customer-before-pbx")
    for step in pbxes:
        yield Edge(step.id, create.id, "customer-before-pbx")


@rule("pbx-name-taken", Stage.GATE, needs_steps=True)
def pbx_name_taken(ctx: CustomerContext):
    """A PBX's name is its domain (NAME.wildixin.com): a new PBX cannot take a name another customer holds."""
    for view in ctx.pbxes:
        create = view.first(Action.CREATE_PBX)
        holder = next((cid for cid in ctx.pbx_holders.get(view.name, ())
                       if cid != ctx.customer), None) if create else None
        if holder is None:
            continue
        text = (f"PBX name {view.name} is taken in the portal by customer {holder} ({view.name}.wildixin.com): "
                "choose another name")
        yield Verdict(create.id, "pbx-name-taken", Status.BLOCKED, None, text)
        yield error("pbx-name-taken", text, **ctx.where(view.name))


@rule("hardware-pbx-purchase", Stage.ORDER, needs_steps=True)
def hardware_pbx_purchase(ctx: CustomerContext):
    for view in ctx.pbxes:
        purchase, create = view.first(Action.PURCHASE_HARDWARE_PBX), view.first(Action.CREATE_PBX)
        if purchase and create:
            yield Verdict(purchase.id, "hardware-pbx-purchase")
            yield Edge(create.id, purchase.id, "hardware-pbx-purchase")


def _model_instruction(name: str, before: str, after: str) -> str:
    if after == "cloud":
        return (f"ask the Area Manager to move {name} to cloud (Move PBX to Cloud): a new cloud PBX is "
                "activated and the data of the old one is migrated to it")
    if before == "cloud":
        return f"open a Customer Care ticket to move {name} from cloud to a {after} PBX"
    return (f"replace the {before} PBX {name} with a {after} one: activate the new PBX with the SW serial of "
            f"{name}, which carries its name, licenses and devices over")


@rule("model-change-manual", Stage.GATE, needs_steps=True)
def model_change_manual(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.SET_OPTIONS):
            if step.changes.model is not None:
                before, after = step.changes.model
                yield Verdict(step.id, "model-change-manual", Status.MANUAL,
                              instruction=_model_instruction(view.name, before, after))


@rule("region-change-manual", Stage.GATE, needs_steps=True)
def region_change_manual(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.SET_OPTIONS):
            if step.changes.region is not None and step.changes.model is None:
                before, after = step.changes.region
                yield Verdict(step.id, "region-change-manual", Status.MANUAL,
                              instruction=f"open a Customer Care ticket to move cloud PBX {view.name} "
                                          f"from region {before} to {after}")


@rule("storage-increase-only", Stage.GATE, needs_steps=True)
def storage_increase_only(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.SET_OPTIONS):
            before, after = step.changes.storage_gb or (None, None)
            if before is not None and after is not None and after < before:
                yield Verdict(step.id, "storage-increase-only", Status.MANUAL,
                              instruction=f"open a Customer Care ticket to reduce the storage of {view.name} "
                                          f"from {before} GB to {after} GB (the portal only increases it)")


@rule("activation-report-window", Stage.NOTE, needs_steps=True)
def activation_report_window(ctx: CustomerContext):
    for view in ctx.pbxes:
        for step in view.of(Action.CREATE_PBX):
            d = ctx.date_of(step)
            days = ACTIVATION_REPORT_BUSINESS_DAYS
            by = f"by {add_business_days(d, days)}" if d else f"within {days} business day of the activation"
            text = f"report any mistake in the activation of {view.name} to the Area Manager {by} ({days} business day)"
            if step.changes.model in ("virtual", "hardware"):
                text += ("; activate it by pasting the PBX key into WMS (Settings > Tools and utilities > "
                         "Activation / Licenses)")
            yield Verdict(step.id, "activation-report-window")
            yield info("activation-report-window", text, **ctx.where(view.name))


@rule("unmanaged-customer", Stage.PLAN)
def unmanaged_customer(ctx: PlanContext):
    if not ctx.complete or ctx.policy.prune:
        return
    for name in sorted(ctx.portal_customers - ctx.desired_ids):
        yield info("unmanaged-customer",
                   f"customer {name} is in the portal but not in the repo: left alone (set policy.prune: true "
                   "to decommission customers absent from the repo)", customer=name)


STALE_AFTER_DAYS = 1


@rule("snapshot-age", Stage.PLAN)
def snapshot_age(ctx: PlanContext):
    """The plan judges the portal as the state shows it: an old state may have moved on since, and a plan date
    before the state's `as_of` would judge a past the portal has already left."""
    as_of, today = ctx.snapshot.as_of, ctx.today
    age = (today - as_of).days
    if age < 0:
        yield error("snapshot-age", f"the plan date {today} is before the current state's as_of {as_of}: the portal "
                                    "has already moved on; plan on or after that date, or read the state again")
    elif age > STALE_AFTER_DAYS:
        yield warning("snapshot-age", f"the current state is {age} days old (as_of {as_of}, plan date {today}): the "
                                      "portal may have changed since; read it again before applying")
