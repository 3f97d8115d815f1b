"""Rules on licenses and terms (RULES.md, "Licenses and terms"; source: seed 004).

Per-user licenses can be added any time; decreases have calendar limits, return no money,
and a cloud PBX left without licenses is stopped and then deleted. A term cannot be edited
in place: it goes through zero licenses. Each rule below is one unit with its id.
"""

from __future__ import annotations

import datetime as dt

from reconciler.calendar import first_of_next_month, is_last_day_of_month
from reconciler.facts import DELETED_AFTER, RENEWAL_WINDOW, STOPPED_AFTER, expiry
from reconciler.plan.context import (CustomerContext, Edge, Verdict, error, info,
                                     license_totals, warning)
from reconciler.plan.model import Action, Status
from reconciler.rules.registry import Stage, rule



@rule("term-change-through-zero", Stage.ORDER, needs_steps=True)
def term_change_through_zero(ctx: CustomerContext):
    """remove-licenses (all to 0) -> change-term -> add-licenses, each needing the one before."""
    for view in ctx.pbxes:
        change = view.first(Action.CHANGE_TERM)
        if change is None:
            continue
        yield Verdict(change.id, "term-change-through-zero")
        for remove in view.of(Action.REMOVE_LICENSES):
            yield Verdict(remove.id, "term-change-through-zero")
            yield Edge(change.id, remove.id, "term-change-through-zero")
        for add in view.of(Action.ADD_LICENSES):
            yield Edge(add.id, change.id, "term-change-through-zero")


@rule("term-change-through-zero", Stage.NOTE, needs_steps=True)
def term_change_through_zero_expiry(ctx: CustomerContext):
    """A new term starts when the change runs: the plan says when the PBX renews (and invoices) after it."""
    for view in ctx.pbxes:
        change = view.first(Action.CHANGE_TERM)
        if change is None:
            continue
        before, after = change.changes.term
        d = ctx.date_of(change)
        renews = expiry(d, after) if d else None
        if renews:
            when = f"from {d}: it renews, and is invoiced, on {renews}"
        elif after == "lifetime":
            when = f"from {d or 'the day it runs'}: a lifetime term does not renew"
        else:
            when = "from the day it runs: it renews one term later"
        old = view.current.expires_on if view.current else None
        instead = f" instead of {old}" if old and renews else ""
        yield info("term-change-through-zero",
                   f"the term of {view.name} changes from {before} to {after} {when}{instead}",
                   **ctx.where(view.name))


@rule("add-before-remove", Stage.ORDER, needs_steps=True)
def add_before_remove(ctx: CustomerContext):
    """On one PBX increases go first: users moved between profiles are never left unlicensed."""
    for view in ctx.pbxes:
        if view.first(Action.CHANGE_TERM):
            continue
        removes, adds = view.of(Action.REMOVE_LICENSES), view.of(Action.ADD_LICENSES)
        if not (removes and adds):
            continue
        for add in adds:
            yield Verdict(add.id, "add-before-remove")
            for remove in removes:
                yield Edge(remove.id, add.id, "add-before-remove")


def _emptied(view) -> list:
    """The removals that leave the PBX with zero licenses for good (not the transient zero of a term change)."""
    if view.current is None or view.licenses_after() > 0:
        return []
    return [step for step, total in license_totals(view) if step.action is Action.REMOVE_LICENSES and total == 0]


def _licensed_again(view):
    """The step from which the PBX must be the customer's only licensed one: the one that licenses it (create-pbx,
    add-licenses), or, when it goes through zero first (a term change), the removal that starts it: it waits with
    its licenses rather than at zero."""
    if view.licenses_after() == 0:
        return None
    if view.current is None:
        return view.first(Action.CREATE_PBX)
    total, to_zero = view.current.licenses.total(), None
    for step, after in license_totals(view):
        if after == 0:
            to_zero = to_zero or step
        elif total == 0:
            return to_zero or step
        total = after
    return None


@rule("one-licensed-pbx-per-customer", Stage.ORDER, needs_steps=True)
def one_licensed_pbx_per_customer(ctx: CustomerContext):
    """The portal refuses licenses on a second PBX of a customer: licenses moved from one PBX to another are
    removed from the old one before the new one gets them (a blocked removal blocks the move)."""
    emptied = [step for view in ctx.pbxes for step in _emptied(view)]
    for view in ctx.pbxes:
        step = _licensed_again(view) if emptied else None
        if step is not None:
            yield from (Edge(step.id, removal.id, "one-licensed-pbx-per-customer") for removal in emptied)


def _last_day_in(today: dt.date, portal: dt.date) -> str | None:
    """Which clock is on the last day of a month: the repo's, the portal's (which may be a day apart), or None."""
    if portal == today:
        return f"{today}" if is_last_day_of_month(today) else None
    clocks = [f"{day} {where}" for day, where in ((today, "in the repo's timezone"),
                                                   (portal, "in the portal's timezone"))
              if is_last_day_of_month(day)]
    return ", ".join(clocks) or None


@rule("no-decrease-last-day", Stage.GATE, needs_steps=True)
def no_decrease_last_day(ctx: CustomerContext):
    """The portal refuses a decrease on the last day of the month by its own clock, and the partner's calendar
    is judged too: blocked when it is the last day in either zone, until the first day it is in neither."""
    portal = ctx.portal_today or ctx.today
    which = _last_day_in(ctx.today, portal)
    if which is None:
        return
    shift = portal - ctx.today
    until = first_of_next_month(ctx.today) if is_last_day_of_month(ctx.today) else ctx.today + dt.timedelta(days=1)
    while is_last_day_of_month(until) or is_last_day_of_month(until + shift):
        until += dt.timedelta(days=1)
    for view in ctx.pbxes:
        for step in view.of(Action.REMOVE_LICENSES):
            yield Verdict(step.id, "no-decrease-last-day", Status.BLOCKED, until,
                          f"no license decrease on the last day of the month ({which})")


def _stopped(view, today: dt.date) -> bool:
    current = view.current
    if current is None:
        return False
    if current.status == "stopped":
        return True
    scheduled = current.deletion_scheduled_on
    return (current.status == "deletion-scheduled" and scheduled is not None
            and today >= scheduled + dt.timedelta(days=STOPPED_AFTER))


@rule("deletion-revert", Stage.GATE, needs_steps=True)
def deletion_revert_stopped(ctx: CustomerContext):
    """A stopped PBX is not saved by adding a license: the Area Manager must restore it."""
    for view in ctx.pbxes:
        if not _stopped(view, ctx.today):
            continue
        scheduled = view.current.deletion_scheduled_on
        deleted = scheduled + dt.timedelta(days=DELETED_AFTER) if scheduled else None
        if deleted and ctx.today >= deleted:
            text = (f"{view.name} was irrevocably deleted on {deleted}: it must be created anew; "
                    "ask the Area Manager to remove it from the portal")
        else:
            by = f" before {deleted}" if deleted else ""
            text = (f"{view.name} is stopped: add the licenses and ask the Area Manager to restore it{by} "
                    "(adding a license alone does not)")
        for step in view.of(Action.ADD_LICENSES):
            yield Verdict(step.id, "deletion-revert", Status.MANUAL, instruction=text)


@rule("deletion-revert", Stage.NOTE, needs_steps=True)
def deletion_revert_saved(ctx: CustomerContext):
    for view in ctx.pbxes:
        current = view.current
        if current is None or current.status != "deletion-scheduled" or _stopped(view, ctx.today):
            continue
        adds = view.of(Action.ADD_LICENSES)
        if not adds:
            continue
        scheduled = current.deletion_scheduled_on
        when = f" (stopped on {scheduled + dt.timedelta(days=STOPPED_AFTER)})" if scheduled else ""
        for step in adds:
            yield Verdict(step.id, "deletion-revert")
        yield info("deletion-revert", f"{view.name} is scheduled for deletion{when}: adding a license saves it",
                   **ctx.where(view.name))


@rule("renewal-window", Stage.NOTE, needs_steps=True)
def renewal_window(ctx: CustomerContext):
    for view in ctx.pbxes:
        expires = view.current.expires_on if view.current else None
        if expires is None:
            continue
        start = expires - dt.timedelta(days=RENEWAL_WINDOW)
        hits = [s for s in view.of(Action.ADD_LICENSES, Action.REMOVE_LICENSES, Action.CHANGE_TERM)
                if (d := ctx.date_of(s)) is not None and start <= d <= expires]
        if not hits:
            continue
        for step in hits:
            yield Verdict(step.id, "renewal-window")
        yield warning("renewal-window",
                      f"license changes on {view.name} fall within {RENEWAL_WINDOW} days of its renewal on "
                      f"{expires}: changes are recommended {RENEWAL_WINDOW} days before expiry; renewal and "
                      f"invoice fall on {expires}", **ctx.where(view.name))


@rule("no-refund", Stage.NOTE, needs_steps=True)
def no_refund(ctx: CustomerContext):
    for view in ctx.pbxes:
        removes = view.of(Action.REMOVE_LICENSES)
        if not removes:
            continue
        for step in removes:
            yield Verdict(step.id, "no-refund")
        expires = view.current.expires_on if view.current else None
        until = f" (paid until {expires})" if expires else ""
        yield info("no-refund", f"decreasing licenses on {view.name} returns no money for the prepaid period{until}",
                   **ctx.where(view.name))


@rule("deletion-guard", Stage.NOTE, needs_steps=True)
def deletion_guard(ctx: CustomerContext):
    """Zero licenses for good needs allow_deletion (guarded), or policy allow; deny forbids it.

    A PBX that has licenses reaches zero only through the removals the diff plans: the rule judges those."""
    deletions = ctx.policy.deletions
    if deletions == "allow":
        return
    for view in ctx.pbxes:
        removes = view.of(Action.REMOVE_LICENSES)
        if not removes or view.current is None or view.current.licenses.total() == 0 or view.licenses_after() > 0:
            continue
        if deletions == "guarded" and view.desired is not None and view.desired.allow_deletion:
            continue
        for step in removes:
            yield Verdict(step.id, "deletion-guard")
        if deletions == "deny":
            why = "policy.deletions is 'deny': no PBX may go to zero licenses"
        elif view.desired is None:
            why = ("it is not in the customer's file, and policy.deletions 'guarded' only lets a PBX marked "
                   "allow_deletion go to zero: keep it with allow_deletion: true, or set policy.deletions: allow")
        else:
            why = "set allow_deletion: true on it to confirm"
        yield error("deletion-guard", f"the plan leaves {view.name} with zero licenses: {why}",
                    **ctx.where(view.name))


def _deletion_dates(d: dt.date | None) -> tuple[str, str, str]:
    """On D, stopped D+5, deleted D+14, as printed: dates when D is known."""
    if d is None:
        return "on the day it runs (D)", f"D+{STOPPED_AFTER}", f"D+{DELETED_AFTER}"
    return f"on {d}", str(d + dt.timedelta(days=STOPPED_AFTER)), str(d + dt.timedelta(days=DELETED_AFTER))


@rule("cloud-deletion-schedule", Stage.NOTE, needs_steps=True)
def cloud_deletion_schedule_new_pbx(ctx: CustomerContext):
    """A new cloud PBX created with zero licenses has no subscription from the start: the same clock runs."""
    for view in ctx.pbxes:
        create = view.first(Action.CREATE_PBX) if view.current is None else None
        if create is None or create.changes.model != "cloud" or sum(create.changes.licenses.values()):
            continue
        on, stopped, deleted = _deletion_dates(ctx.date_of(create))
        yield Verdict(create.id, "cloud-deletion-schedule")
        yield warning("cloud-deletion-schedule",
                      f"cloud PBX {view.name} is created with zero licenses {on}: it is stopped on {stopped} and "
                      f"irrevocably deleted on {deleted} unless it gets a license", **ctx.where(view.name))


@rule("cloud-deletion-schedule", Stage.NOTE, needs_steps=True)
def cloud_deletion_schedule(ctx: CustomerContext):
    for view in ctx.pbxes:
        if view.current is None or view.current.model != "cloud":
            continue
        walk = list(license_totals(view))
        for index, (step, total) in enumerate(walk):
            if step.action is not Action.REMOVE_LICENSES or total > 0:
                continue
            transient = any(later > 0 for _, later in walk[index + 1:])
            on, stopped, deleted = _deletion_dates(ctx.date_of(step))
            if transient:
                text = (f"the term change takes cloud PBX {view.name} through zero licenses {on}: an interrupted "
                        f"apply must be resumed before {stopped}, when it is stopped (deleted on {deleted})")
            else:
                text = (f"cloud PBX {view.name} is left with zero licenses {on}: it is stopped on {stopped} and "
                        f"irrevocably deleted on {deleted}")
            yield Verdict(step.id, "cloud-deletion-schedule")
            yield warning("cloud-deletion-schedule", text, **ctx.where(view.name))
