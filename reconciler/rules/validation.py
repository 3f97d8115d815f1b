"""Validation rules: the desired state alone, before any portal is asked (RULES.md, "Validation").

Each rule is a unit of the one registry (reconciler.rules.registry) at Stage.VALIDATE: it
takes one customer file (the model, the positions of its keys, the catalog the loader
knows) and yields diagnostics at the key concerned; `check_customer` runs them all. A file
with schema errors is judged too, on its parts that are valid (`check_parts`): one run
reports the schema errors of one PBX beside the rule errors of another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from pydantic import TypeAdapter, ValidationError

from reconciler.desired import Contact, CustomerFile, DesiredPbx
from reconciler.diagnostics import Diagnostic, error
from reconciler.domain import CLOUD_OPTIONS, Id
from reconciler.rules.registry import REGISTRY, Stage, rule
from reconciler.sandbox.catalog import BUILTIN_CATALOG
from reconciler.yamlio import Positions


@dataclass(frozen=True)
class FileContext:
    """What a validation rule sees: one customer file, where its keys are, and the product catalog (None: unknown).

    For a file with schema errors, `file` holds only its valid parts (the PBXs that are valid on their own), and
    `contacts_known` says whether its contacts were valid enough to judge."""

    file: CustomerFile
    positions: Positions
    catalog: frozenset[str] | None = None
    contacts_known: bool = True

    def where(self, pbx: str | None = None) -> dict:
        return {"customer": self.file.customer, "pbx": pbx}


@rule("cloud-needs-region", Stage.VALIDATE)
def cloud_needs_region(ctx: FileContext):
    for name, pbx in ctx.file.pbxes.items():
        if pbx.model == "cloud" and pbx.region is None:
            yield error(ctx.positions.key(("pbxes", name)), "cloud-needs-region",
                        f"cloud PBX '{name}' needs a 'region' (its datacenter, e.g. eu-central)",
                        **ctx.where(name))


@rule("region-cloud-only", Stage.VALIDATE)
def region_cloud_only(ctx: FileContext):
    for name, pbx in ctx.file.pbxes.items():
        if pbx.model != "cloud" and pbx.region is not None:
            yield error(ctx.positions.key(("pbxes", name, "region")), "region-cloud-only",
                        f"PBX '{name}' is {pbx.model}: only a cloud PBX has a region", **ctx.where(name))


@rule("cloud-only-option", Stage.VALIDATE)
def cloud_only_option(ctx: FileContext):
    for name, pbx in ctx.file.pbxes.items():
        if pbx.model == "cloud":
            continue
        for option in CLOUD_OPTIONS:
            if getattr(pbx, option) is not None:
                yield error(ctx.positions.key(("pbxes", name, option)), "cloud-only-option",
                            f"'{option}' is a cloud-only option; PBX '{name}' is {pbx.model}",
                            **ctx.where(name))


@rule("cloud-no-lifetime", Stage.VALIDATE)
def cloud_no_lifetime(ctx: FileContext):
    for name, pbx in ctx.file.pbxes.items():
        if pbx.model == "cloud" and pbx.term == "lifetime":
            yield error(ctx.positions.value(("pbxes", name, "term")), "cloud-no-lifetime",
                        f"cloud PBX '{name}' cannot have term 'lifetime' (not sold for cloud): use 1m, 1y or 5y",
                        **ctx.where(name))


@rule("hwaas-needs-subscription", Stage.VALIDATE)
def hwaas_needs_subscription(ctx: FileContext):
    """HWaaS only on a subscription PBX: not lifetime, and with licenses (a subscription without users is none)."""
    for name, pbx in ctx.file.pbxes.items():
        if pbx.term == "lifetime":
            why = "has a lifetime term"
        elif pbx.licenses.total() == 0:
            why = "has no licenses (a PBX with zero licenses has no subscription)"
        else:
            continue
        if any(pbx.hwaas.values()):
            yield error(ctx.positions.key(("pbxes", name, "hwaas")), "hwaas-needs-subscription",
                        f"PBX '{name}' {why}: HWaaS is only for subscription PBXs"
                        + (" (1m, 1y, 5y)" if pbx.term == "lifetime" else ""),
                        **ctx.where(name))
        if pbx.pinned:
            yield error(ctx.positions.key(("pbxes", name, "pinned")), "hwaas-needs-subscription",
                        f"PBX '{name}' {why}: devices cannot be HWaaS on it", **ctx.where(name))


@rule("one-licensed-pbx-per-customer", Stage.VALIDATE)
def one_licensed_pbx_per_customer(ctx: FileContext):
    licensed = [name for name, pbx in ctx.file.pbxes.items() if pbx.licenses.total() > 0]
    for name in licensed[1:]:
        yield error(ctx.positions.key(("pbxes", name, "licenses")), "one-licensed-pbx-per-customer",
                    f"PBX '{name}' has licenses, and so does '{licensed[0]}': a customer licenses one PBX; "
                    "the others inherit from the server PBX of their WMS network (since 2022-04-19)",
                    **ctx.where(name))


@rule("contact-required", Stage.VALIDATE)
def contact_required(ctx: FileContext):
    if ctx.contacts_known and not ctx.file.contacts:
        where = ctx.positions.key(("contacts",)) if ("contacts",) in ctx.positions.keys else ctx.positions.key(("customer",))
        yield error(where, "contact-required",
                    f"customer '{ctx.file.customer}' needs at least one contact (name and email): "
                    "the portal cannot create a customer without one", customer=ctx.file.customer)


@rule("known-product", Stage.VALIDATE)
def known_product(ctx: FileContext):
    """Every hwaas product is in the catalog, pointed at the product's key; silent when no catalog is known."""
    for name, pbx in ctx.file.pbxes.items():
        for product, hint in unknown_products(pbx.hwaas, ctx.catalog):
            yield error(ctx.positions.key(("pbxes", name, "hwaas", product)), "known-product",
                        f"product '{product}' is not in the catalog{hint}", **ctx.where(name))


def unknown_products(products, catalog) -> Iterator[tuple[str, str]]:
    """`known-product`'s judgement, for the loader's catalog and the planner's: each product not in the catalog,
    in sorted order, with its "did you mean" hint ('' when nothing is close). Nothing when no catalog is known."""
    if not catalog:
        return
    known = sorted(catalog)
    for product in sorted(products):
        if product not in catalog:
            import difflib  # an unknown product only: a valid file does not pay for it

            close = difflib.get_close_matches(product, known, n=1, cutoff=0.6)
            yield product, f": did you mean '{close[0]}'?" if close else ""


def loader_catalog(price_book_products: set[str] | None, provider_kind: str) -> frozenset[str] | None:
    """The catalog a check without a provider knows (FORMAT.md section 5): the price book's when one is configured,
    else the sandbox's built-in one when the provider is the sandbox (a snapshot's or a live portal's catalog is
    known only once it is read: the planner judges `known-product` again with it)."""
    if price_book_products is not None:
        return frozenset(price_book_products)
    if provider_kind == "sandbox":
        return frozenset(product for products in BUILTIN_CATALOG.values() for product in products)
    return None


def run(ctx: FileContext) -> list[Diagnostic]:
    return [diagnostic for unit in REGISTRY.of(Stage.VALIDATE) for diagnostic in unit(ctx)]


def check_customer(customer: CustomerFile, positions: Positions, catalog: set[str] | None = None) -> list[Diagnostic]:
    """Every validation rule on a valid customer file."""
    return run(FileContext(customer, positions, frozenset(catalog) if catalog else None))


@cache
def _adapters() -> tuple[TypeAdapter, TypeAdapter]:
    """Validators of a PBX name and of the contacts list, built on the first file with schema errors only: building
    them costs start-up (some 30 ms) that a valid repo does not pay."""
    return TypeAdapter(Id), TypeAdapter(list[Contact])


def check_parts(data, positions: Positions, catalog: set[str] | None = None) -> list[Diagnostic]:
    """Every validation rule on the valid parts of a file that has schema errors (its `data` as parsed): each PBX
    that is valid on its own, under a name that is valid, and the contacts when they are valid."""
    if not isinstance(data, dict) or not isinstance(data.get("pbxes"), dict):
        return []
    names, contacts_list = _adapters()
    pbxes = {}
    for name, value in data["pbxes"].items():
        try:
            pbxes[names.validate_python(name)] = DesiredPbx.model_validate(value)
        except ValidationError:
            continue
    try:
        contacts, known = contacts_list.validate_python(data.get("contacts", [])), True
    except ValidationError:
        contacts, known = [], False
    customer = data.get("customer") if isinstance(data.get("customer"), str) else None
    partial = CustomerFile.model_construct(customer=customer, company="", contacts=contacts, pbxes=pbxes)
    return run(FileContext(partial, positions, frozenset(catalog) if catalog else None, known))
