"""Validation rules: the desired state alone, before any portal is asked (RULES.md, "Validation").

Each rule takes one customer file (the model and the positions of its keys) and yields
diagnostics; `check_customer` runs them all. `known-product` also needs the catalog.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, error
from reconciler.domain import CLOUD_OPTIONS
from reconciler.yamlio import Positions

Rule = Callable[[CustomerFile, Positions], Iterator[Diagnostic]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str):
    def register(func: Rule) -> Rule:
        func.rule_id = rule_id
        RULES[rule_id] = func
        return func
    return register


def _where(customer: CustomerFile, pbx: str | None = None) -> dict:
    return {"customer": customer.customer, "pbx": pbx}


@rule("cloud-needs-region")
def cloud_needs_region(customer: CustomerFile, positions: Positions):
    for name, pbx in customer.pbxes.items():
        if pbx.model == "cloud" and pbx.region is None:
            yield error(positions.key(("pbxes", name)), "cloud-needs-region",
                        f"cloud PBX '{name}' needs a 'region' (its datacenter, e.g. eu-central)",
                        **_where(customer, name))


@rule("region-cloud-only")
def region_cloud_only(customer: CustomerFile, positions: Positions):
    for name, pbx in customer.pbxes.items():
        if pbx.model != "cloud" and pbx.region is not None:
            yield error(positions.key(("pbxes", name, "region")), "region-cloud-only",
                        f"PBX '{name}' is {pbx.model}: only a cloud PBX has a region", **_where(customer, name))


@rule("cloud-only-option")
def cloud_only_option(customer: CustomerFile, positions: Positions):
    for name, pbx in customer.pbxes.items():
        if pbx.model == "cloud":
            continue
        for option in CLOUD_OPTIONS:
            if getattr(pbx, option) is not None:
                yield error(positions.key(("pbxes", name, option)), "cloud-only-option",
                            f"'{option}' is a cloud-only option; PBX '{name}' is {pbx.model}",
                            **_where(customer, name))


@rule("cloud-no-lifetime")
def cloud_no_lifetime(customer: CustomerFile, positions: Positions):
    for name, pbx in customer.pbxes.items():
        if pbx.model == "cloud" and pbx.term == "lifetime":
            yield error(positions.value(("pbxes", name, "term")), "cloud-no-lifetime",
                        f"cloud PBX '{name}' cannot have term 'lifetime' (not sold for cloud): use 1m, 1y or 5y",
                        **_where(customer, name))


@rule("hwaas-needs-subscription")
def hwaas_needs_subscription(customer: CustomerFile, positions: Positions):
    """HWaaS only on a subscription PBX: not lifetime, and with licenses (a subscription without users is none)."""
    for name, pbx in customer.pbxes.items():
        if pbx.term == "lifetime":
            why = "has a lifetime term"
        elif pbx.licenses.total() == 0:
            why = "has no licenses (a PBX with zero licenses has no subscription)"
        else:
            continue
        if any(pbx.hwaas.values()):
            yield error(positions.key(("pbxes", name, "hwaas")), "hwaas-needs-subscription",
                        f"PBX '{name}' {why}: HWaaS is only for subscription PBXs"
                        + (" (1m, 1y, 5y)" if pbx.term == "lifetime" else ""),
                        **_where(customer, name))
        if pbx.pinned:
            yield error(positions.key(("pbxes", name, "pinned")), "hwaas-needs-subscription",
                        f"PBX '{name}' {why}: devices cannot be HWaaS on it", **_where(customer, name))


@rule("one-licensed-pbx-per-customer")
def one_licensed_pbx_per_customer(customer: CustomerFile, positions: Positions):
    licensed = [name for name, pbx in customer.pbxes.items() if pbx.licenses.total() > 0]
    for name in licensed[1:]:
        yield error(positions.key(("pbxes", name, "licenses")), "one-licensed-pbx-per-customer",
                    f"PBX '{name}' has licenses, and so does '{licensed[0]}': a customer licenses one PBX; "
                    "the others inherit from the server PBX of their WMS network (since 2022-04-19)",
                    **_where(customer, name))


@rule("contact-required")
def contact_required(customer: CustomerFile, positions: Positions):
    if not customer.contacts:
        where = positions.key(("contacts",)) if ("contacts",) in positions.keys else positions.key(("customer",))
        yield error(where, "contact-required",
                    f"customer '{customer.customer}' needs at least one contact (name and email): "
                    "the portal cannot create a customer without one", customer=customer.customer)


def known_product(customer: CustomerFile, positions: Positions, catalog: set[str] | None) -> Iterator[Diagnostic]:
    """`known-product`: every hwaas product is in the catalog; silent when no catalog is known."""
    if not catalog:
        return
    for name, pbx in customer.pbxes.items():
        for product in pbx.hwaas:
            if product in catalog:
                continue
            close = difflib.get_close_matches(product, sorted(catalog), n=1, cutoff=0.6)
            hint = f": did you mean '{close[0]}'?" if close else ""
            yield error(positions.key(("pbxes", name, "hwaas", product)), "known-product",
                        f"product '{product}' is not in the catalog{hint}", **_where(customer, name))


def check_customer(customer: CustomerFile, positions: Positions, catalog: set[str] | None = None) -> list[Diagnostic]:
    found = [diagnostic for check in RULES.values() for diagnostic in check(customer, positions)]
    found.extend(known_product(customer, positions, catalog))
    return found
