"""Operations on customers, PBXs and licenses, as the portal's forms take them.

A step whose `[before, after]` values are already `after` is a no-op (a step repeated
after a crash does no harm); one whose `before` is not what the portal holds is refused
as stale. Calendar and model rules (seed 004) refuse the rest: no decrease on the last
day of a month, a term changed only through zero licenses, cloud facts on cloud PBXs.
"""

from __future__ import annotations

from pydantic import ValidationError

from reconciler.calendar import is_last_day_of_month
from reconciler.desired import Contact
from reconciler.domain import CLOUD_OPTIONS, PROFILES
from reconciler.plan.model import Step
from reconciler.sandbox import store
from reconciler.sandbox.catalog import HARDWARE_PBX_PRODUCT, format_serial, pbx_counter
from reconciler.sandbox.clock import expiry
from reconciler.sandbox.portal import Portal, refuse

TERMS = ("1m", "1y", "5y", "lifetime")  # the portal's form, restated (seed 004): a planner typo is refused
MODELS = ("cloud", "virtual", "hardware")


def create_customer(portal: Portal, step: Step) -> None:
    if portal.conn.execute("SELECT 1 FROM customers WHERE id = ?", (step.customer,)).fetchone():
        raise refuse(step, "stale-plan", f"customer {step.customer} already exists")
    company, contacts = step.changes.company, [contact.model_dump() for contact in step.changes.contacts]
    if not isinstance(company, str) or not company.strip():
        raise refuse(step, "schema", "the customer needs a company name")
    try:
        contacts = [Contact.model_validate(contact) for contact in contacts]
    except ValidationError as exc:
        raise refuse(step, "contact-required", f"a contact is not valid ({exc.errors()[0]['msg']})") from None
    if not contacts:
        raise refuse(step, "contact-required", "a customer needs at least one contact")
    portal.conn.execute("INSERT INTO customers (id, company) VALUES (?, ?)", (step.customer, company))
    portal.conn.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?)",
                            [(step.customer, i, c.name, c.email) for i, c in enumerate(contacts)])


def purchase_hardware_pbx(portal: Portal, step: Step) -> None:
    portal.customer(step)
    product, quantity = step.changes.product, step.changes.quantity
    if product != HARDWARE_PBX_PRODUCT or not isinstance(quantity, int) or quantity < 1:
        raise refuse(step, "schema", f"a hardware PBX purchase is of {HARDWARE_PBX_PRODUCT}, at least 1 unit")
    portal.check_overdue(step)
    portal.conn.execute("UPDATE customers SET hardware_pbx_credit = hardware_pbx_credit + ? WHERE id = ?",
                        (quantity, step.customer))



def create_pbx(portal: Portal, step: Step) -> None:
    customer = portal.customer(step)
    form = step.changes
    name, model, term, region = form.name, form.model, form.term, form.region
    if name != step.pbx or model not in MODELS or term not in TERMS:
        raise refuse(step, "schema", "the form needs the PBX's name, a model (cloud, virtual, hardware) "
                                     "and a term (1m, 1y, 5y, lifetime)")
    taken = portal.conn.execute("SELECT customer FROM pbxes WHERE name = ?", (name,)).fetchone()
    if taken:
        raise refuse(step, "stale-plan", f"a PBX named {name} already exists (customer {taken['customer']})")
    if model == "cloud" and term == "lifetime":
        raise refuse(step, "cloud-no-lifetime", "a cloud PBX cannot have a lifetime term")
    if model == "cloud" and not region:
        raise refuse(step, "cloud-needs-region", "a cloud PBX needs a datacenter region")
    options = [key for key in CLOUD_OPTIONS if getattr(form, key) is not None]
    if model != "cloud" and (region or options):
        rule = "region-cloud-only" if region else "cloud-only-option"
        raise refuse(step, rule, f"{', '.join((['region'] if region else []) + options)} is for cloud PBXs only")
    licenses = {profile: form.licenses.get(profile, 0) for profile in PROFILES}
    if set(form.licenses) - set(PROFILES) or any(not isinstance(n, int) or n < 0 for n in licenses.values()):
        raise refuse(step, "schema", f"licenses are whole numbers per profile ({', '.join(PROFILES)})")
    other = portal.other_licensed_pbx(step.customer, name)
    if sum(licenses.values()) and other:
        raise refuse(step, "one-licensed-pbx-per-customer",
                     f"{step.customer} already has licenses on {other}: one licensed PBX per customer")
    if model == "hardware":
        if customer["hardware_pbx_credit"] < 1:
            raise refuse(step, "hardware-pbx-purchase",
                         f"no purchased {HARDWARE_PBX_PRODUCT} unit for {step.customer}: purchase one first")
        portal.conn.execute("UPDATE customers SET hardware_pbx_credit = hardware_pbx_credit - 1 WHERE id = ?",
                            (step.customer,))
    counter = pbx_counter(model)
    serial = format_serial(counter, store.next_serial(portal.conn, counter))
    expires = expiry(portal.today, term)
    flags = {key: None if getattr(form, key) is None else int(getattr(form, key)) for key in ("static_ip", "ssh")}
    store.insert_pbx(portal.conn, {
        "customer": step.customer, "name": name, "serial": serial, "model": model, "region": region, "term": term,
        "activated_on": portal.today.isoformat(), "expires_on": expires and expires.isoformat(), "status": "active",
        "deletion_scheduled_on": None, **licenses, "storage_gb": form.storage_gb, **flags})


def _licenses_move(portal: Portal, step: Step, up: bool) -> None:
    pbx = portal.pbx(step)
    moves: dict[str, int] = {}
    for profile, (before, after) in step.changes.moves().items():
        if after < 0 or (after > before) != up:
            raise refuse(step, "schema", f"licenses.{profile}: {before} -> {after} is not a license "
                                         f"{'increase' if up else 'decrease'}")
        if pbx[profile] == after:
            continue  # already done: idempotent
        if pbx[profile] != before:
            raise refuse(step, "stale-plan", f"{profile} licenses are {pbx[profile]}, not {before} "
                                             "as the plan expects: plan again")
        moves[profile] = after
    if not moves:
        return
    if not up and is_last_day_of_month(portal.today):
        raise refuse(step, "no-decrease-last-day",
                     f"no license decrease on the last day of the month ({portal.today}): try again from the 1st")
    if up and pbx["status"] == "stopped":
        raise refuse(step, "deletion-revert", f"{pbx['name']} is stopped (scheduled for deletion on "
                     f"{pbx['deletion_scheduled_on']}): only the Area Manager can restore it")
    other = portal.other_licensed_pbx(pbx["customer"], pbx["name"]) if up and not portal.licensed(pbx) else None
    if other:  # a PBX licensed before the 2022 rule keeps its licenses; a new one may not join it
        raise refuse(step, "one-licensed-pbx-per-customer",
                     f"{pbx['customer']} already has licenses on {other}: one licensed PBX per customer")
    total = portal.licensed(pbx) - sum(pbx[p] for p in moves) + sum(moves.values())
    status = {}
    if total == 0 and pbx["model"] == "cloud" and pbx["status"] == "active":
        status = {"status": "deletion-scheduled", "deletion_scheduled_on": portal.today.isoformat()}
    elif total > 0 and pbx["status"] == "deletion-scheduled":
        status = {"status": "active", "deletion_scheduled_on": None}
    portal.update(pbx, **moves, **status)


def add_licenses(portal: Portal, step: Step) -> None:
    _licenses_move(portal, step, up=True)


def remove_licenses(portal: Portal, step: Step) -> None:
    _licenses_move(portal, step, up=False)


def change_term(portal: Portal, step: Step) -> None:
    pbx = portal.pbx(step)
    before, after = step.changes.term
    if after not in TERMS:
        raise refuse(step, "schema", f"{after} is not a term (1m, 1y, 5y, lifetime)")
    if pbx["term"] == after:
        return
    if pbx["term"] != before:
        raise refuse(step, "stale-plan", f"the term is {pbx['term']}, not {before} as the plan expects")
    if portal.licensed(pbx):
        raise refuse(step, "term-change-through-zero",
                     "the term changes only through zero licenses: remove every license first")
    if after == "lifetime" and pbx["model"] == "cloud":
        raise refuse(step, "cloud-no-lifetime", "a cloud PBX cannot have a lifetime term")
    hwaas = portal.conn.execute("SELECT COUNT(*) FROM devices WHERE customer = ? AND pbx = ? AND billing = 'hwaas'",
                                (pbx["customer"], pbx["name"])).fetchone()[0]
    if after == "lifetime" and hwaas:
        raise refuse(step, "hwaas-needs-subscription", f"{pbx['name']} has HWaaS devices ({hwaas}): HWaaS is "
                                                       "only for subscription PBXs; return them first")
    expires = expiry(portal.today, after)
    portal.update(pbx, term=after, expires_on=expires and expires.isoformat())


def set_options(portal: Portal, step: Step) -> None:
    pbx = portal.pbx(step)
    if step.changes.model is not None:
        raise refuse(step, "model-change-manual", "the model of a PBX is changed by a person, not the portal form")
    if step.changes.region is not None:
        raise refuse(step, "region-change-manual", "the region of a cloud PBX is changed by Customer Care")
    if pbx["model"] != "cloud":
        raise refuse(step, "cloud-only-option", f"{', '.join(step.changes.moves())} is for cloud PBXs only")
    values = {}
    for key, (before, after) in step.changes.moves().items():
        kind = int if key == "storage_gb" else bool
        if key not in CLOUD_OPTIONS or type(after) is not kind or (kind is int and after < 0):
            raise refuse(step, "schema", f"{key}: {after!r} is not a valid option value")
        current = pbx[key] if kind is int or pbx[key] is None else bool(pbx[key])
        if current == after:
            continue
        if current != before:
            raise refuse(step, "stale-plan", f"{key} is {current}, not {before} as the plan expects")
        if key == "storage_gb" and current is not None and after < current:
            raise refuse(step, "storage-increase-only", f"storage can only be increased ({current} GB to "
                                                        f"{after} GB needs a Customer Care ticket)")
        values[key] = int(after)
    if values:
        portal.update(pbx, **values)
