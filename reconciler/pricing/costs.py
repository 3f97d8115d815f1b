"""Price an ordered plan: each step's `cost` from the price book, PBX by PBX in plan order.

A pure post-step of the planner (no I/O): ordered steps + current state + today + a
parsed PriceBook -> the same steps with their cost, the renewal of each PBX touched,
and a warning for each price the book lacks. The vendor's rules (seeds 000, 004):

- every service on a PBX takes its term and expires with it; added mid-term it is charged
  from D (the date the step runs: today, or its not_before when blocked) to the PBX's
  expires_on (`proration.remaining`), and adds a whole term's price to each renewal;
- a removal (licenses, an HWaaS return) returns no money for the prepaid period: nothing
  now, a lower invoice at each renewal (`no-refund`); PBX-SERVICE is free;
- a new PBX is charged a whole first term for its licenses (D to expiry(D, term)); the
  hardware PBX (WPBX-HW) is bought once; a lifetime term is paid once and never renews;
- a term change is priced as what it is: the licenses removed on the old term, the new
  term's whole charge for the licenses added back, and the HWaaS devices that stay on
  the PBX billed anew on the new term (`hwaas-follows-pbx-term`).

The walk keeps each PBX's term and expiry as steps change them (create-pbx, change-term),
so a step is priced on the term its PBX has when the step runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.domain import PROFILE_CODES
from reconciler.plan.model import Action, Cost, CostItem, Period, Renewal, Step, run_date
from reconciler.pricing.book import FREE_PRODUCT, RULE, PriceBook
from reconciler.pricing.proration import RENEWING_TERMS, Span, first_term, money, remaining, renewal_on
from reconciler.snapshot import CurrentPbx, Snapshot

NOTES = ("no-refund", "free", "no-date", "no-expiry", "no-price", "not-priced", "credit-note",
         "hwaas-follows-pbx-term")  # the order notes are listed in
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedPlan:
    steps: list[Step]
    renewals: dict[str, dict[str, Renewal]]  # customer -> PBX name -> its renewal after the plan
    diagnostics: list[Diagnostic]


@dataclass(frozen=True)
class _Term:
    """A PBX's term and renewal date as the walk reaches a step; expires None: not known."""

    term: str
    expires: dt.date | None


def price_plan(steps: list[Step], current: Snapshot, today: dt.date, book: PriceBook) -> PricedPlan:
    """The plan's steps with their cost, in the same order, and the renewal of every PBX they touch."""
    pricer = _Pricer(steps, current, today, book)
    priced = [step.model_copy(update={"cost": pricer.price(step)}) for step in steps]
    return PricedPlan(priced, pricer.renewals(priced), pricer.diagnostics)


class _Pricer:
    """Walks the plan in order, pricing each step on the term and expiry its PBX has by then."""

    def __init__(self, steps: list[Step], current: Snapshot, today: dt.date, book: PriceBook):
        self.current, self.today, self.book = current, today, book
        self.terms: dict[tuple[str, str | None], _Term | None] = {}  # (customer, PBX) -> as the walk has it
        self.leaving: dict[str, set[str]] = defaultdict(set)  # "customer/pbx" -> serials returned or moved away
        self.diagnostics: list[Diagnostic] = []
        for step in steps:
            if step.action is Action.RETURN_HWAAS:
                self.leaving[step.address].update(step.changes.serials)
            elif step.action is Action.TRANSFER_HWAAS:
                self.leaving[step.changes.source].update(step.changes.serials)

    def _portal_pbx(self, customer: str, name: str | None) -> CurrentPbx | None:
        found = self.current.customers.get(customer)
        return found.pbxes.get(name) if found is not None and name else None

    def _term(self, step: Step) -> _Term | None:
        return self._term_of(step.customer, step.pbx)

    def _term_of(self, customer: str, name: str | None) -> _Term | None:
        key = (customer, name)
        if key not in self.terms:
            pbx = self._portal_pbx(customer, name)
            self.terms[key] = _Term(pbx.term, pbx.expires_on) if pbx else None
        return self.terms[key]

    def price(self, step: Step) -> Cost:
        lines = _Lines(self, step, run_date(step, self.today))
        getattr(self, "_" + step.action.value.replace("-", "_"))(step, lines)
        return lines.cost(self.book.currency)

    # one method per action: each adds the step's items to `lines`

    def _create_customer(self, step: Step, lines: _Lines) -> None:
        pass  # free

    def _set_options(self, step: Step, lines: _Lines) -> None:
        lines.notes.add("not-priced")  # storage, static IP, model or region: not in the price book's format

    def _purchase_hardware_pbx(self, step: Step, lines: _Lines) -> None:
        lines.add(step.changes.product, "once", step.changes.quantity, None)

    def _new_term(self, step: Step, lines: _Lines, term: str) -> Span | None:
        """A PBX created or re-termed on D: a whole term from D, which becomes its expiry (and the period)."""
        span = first_term(lines.day, term) if lines.day and term in RENEWING_TERMS else None
        self.terms[(step.customer, step.pbx)] = _Term(term, span.end if span else None)
        lines.period(span, lifetime=term == "lifetime")
        return span

    def _create_pbx(self, step: Step, lines: _Lines) -> None:
        term = step.changes.term
        span = self._new_term(step, lines, term)
        for profile, count in step.changes.licenses.items():
            if count:
                lines.add(PROFILE_CODES[profile], term, count, span, "no-date")

    def _licenses(self, step: Step, lines: _Lines) -> None:
        state = self._term(step)
        span, why = lines.remaining(state)
        if state is None:
            return
        for profile, (before, after) in step.changes.moves().items():
            lines.add(PROFILE_CODES[profile], state.term, after - before, span, why)

    _add_licenses = _remove_licenses = _licenses

    def _change_term(self, step: Step, lines: _Lines) -> None:
        """The HWaaS devices that stay on the PBX leave the old term's invoice and are billed on the new one."""
        old, new = self._term(step), step.changes.term[1]
        span = self._new_term(step, lines, new)
        pbx = self._portal_pbx(step.customer, step.pbx)
        gone = self.leaving[step.address]
        staying = Counter(d.product for d in (pbx.devices if pbx and old else [])
                          if d.billing == "hwaas" and d.serial not in gone)
        for product, count in sorted(staying.items()):
            lines.add(product, old.term, -count, None)
            lines.add(product, new, count, span, "no-date")
        if staying:
            lines.notes.add("hwaas-follows-pbx-term")

    def _devices(self, step: Step, lines: _Lines, sign: int = 1) -> None:
        state = self._term(step)
        span, why = lines.remaining(state)
        if state is None:
            return
        lines.add(step.changes.product, state.term, sign * step.changes.quantity, span, why)

    _order_hwaas = _devices

    def _convert_to_hwaas(self, step: Step, lines: _Lines) -> None:
        self._devices(step, lines)
        lines.notes.add("credit-note")

    def _transfer_hwaas(self, step: Step, lines: _Lines) -> None:
        """The receiver bills the devices from D; the sender's renewal goes down by as many (seed 003: its credit
        note is not included). A CAPEX device was on no invoice where it comes from."""
        self._convert_to_hwaas(step, lines)
        if step.changes.billing is not None:
            return
        customer, _, name = step.changes.source.partition("/")
        sender = self._term_of(customer, name)  # its renewal is touched: it is listed
        if sender is not None and sender.term in RENEWING_TERMS:
            lines.add(step.changes.product, sender.term, -step.changes.quantity, None,
                      billed_to=step.changes.source)

    def _return_hwaas(self, step: Step, lines: _Lines) -> None:
        self._devices(step, lines, sign=-1)

    def missing_price(self, step: Step, product: str, term: str) -> None:
        self.diagnostics.append(Diagnostic(
            Severity.WARNING, RULE, f"no price for {product} ({term}) in the price book: step {step.id} "
                                    f"({step.action.value}) is not priced", customer=step.customer, pbx=step.pbx))

    def renewals(self, steps: list[Step]) -> dict[str, dict[str, Renewal]]:
        """Each PBX the plan touches: its term and renewal date after the plan, and whether the window warns."""
        found: dict[str, dict[str, Renewal]] = defaultdict(dict)
        warned = {(s.customer, s.pbx) for s in steps if "renewal-window" in s.rules}
        for (customer, name), state in sorted(self.terms.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            if name is None or state is None:
                continue
            renews = (renewal_on(state.expires, state.term, self.today)
                      if state.expires and state.term in RENEWING_TERMS else None)
            found[customer][name] = Renewal(term=state.term, renews_on=renews,
                                            renewal_window=(customer, name) in warned)
        return dict(found)


class _Lines:
    """The items, notes and period of one step's cost, as its action's method adds them."""

    def __init__(self, pricer: _Pricer, step: Step, day: dt.date | None):
        self.pricer, self.step, self.day = pricer, step, day
        self.items: list[CostItem] = []
        self.notes: set[str] = set()
        self.covered: Period | None = None

    def period(self, span: Span | None, lifetime: bool = False) -> None:
        if span is not None:
            self.covered = Period(start=span.start, end=span.end, days=span.days, term_days=span.term_days)
        elif lifetime:
            self.covered = Period(start=self.day, end=None, days=None, term_days=None)

    def remaining(self, state: _Term | None) -> tuple[Span | None, str | None]:
        """From D to the PBX's renewal (and it becomes the step's period); or why it is not known.

        A PBX the walk does not know (never the case for a plan the planner made) is not priced.
        """
        if state is None:
            self.notes.add("not-priced")
            return None, None
        if state.term not in RENEWING_TERMS:
            self.period(None, lifetime=True)
            return None, None
        if self.day is None:
            return None, "no-date"
        if state.expires is None:
            return None, "no-expiry"
        span = remaining(self.day, state.expires, state.term)
        self.period(span)
        return span, None

    def add(self, product: str, term: str, quantity: int, span: Span | None, why: str | None = None,
            billed_to: str | None = None) -> None:
        """One item. A renewing term's addition is prorated over `span`; with no span, `why` it is unknown.

        `billed_to`: another PBX's invoice ("customer/pbx") the item changes (a transfer's sender, which gets a
        credit note, not a no-refund)."""
        price = self.pricer.book.price(product, term)
        if product == FREE_PRODUCT:
            self.notes.add("free")
        if quantity < 0 and billed_to is None:
            self.notes.add("no-refund")
        if price is None:
            self.notes.add("no-price")
            self.pricer.missing_price(self.step, product, term)
            self.items.append(CostItem(product=product, term=term, quantity=quantity, unit_price=None,
                                       one_off=None, recurring=None, billed_to=billed_to))
            return
        whole = price * quantity
        renews = term in RENEWING_TERMS
        if quantity <= 0:
            one_off = ZERO  # no refund for the prepaid period
        elif not renews:
            one_off = money(whole)  # lifetime, once: paid in full, once
        elif span is None:
            one_off = None
            self.notes.add(why or "no-expiry")
        else:
            one_off = money(span.prorate(whole))
        self.items.append(CostItem(product=product, term=term, quantity=quantity, unit_price=price,
                                   one_off=one_off, recurring=money(whole) if renews else None, billed_to=billed_to))

    def cost(self, currency: str) -> Cost:
        items = self.items
        one_off = None if any(i.one_off is None for i in items) else sum((i.one_off for i in items), ZERO)
        recurring: dict[str, Decimal] | None = None
        if all(i.unit_price is not None for i in items):
            recurring = {}
            for item in items:
                if item.recurring is not None:
                    recurring[item.term] = recurring.get(item.term, ZERO) + item.recurring
        if "not-priced" in self.notes:
            one_off = recurring = None
        notes = [note for note in NOTES if note in self.notes]
        return Cost(currency=currency, one_off=one_off, recurring=recurring, period=self.covered, items=items,
                    notes=notes)
