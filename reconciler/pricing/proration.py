"""Proration: what part of a term a service added on day D is charged for, and money rounding.

The vendor's rule (seed 000): every service on a PBX expires with the PBX, and a service
added mid-term is charged only for the rest of the term. A yearly PBX activated on
2020-05-14 expires on 2021-05-14; a service added on 2020-08-14 is charged
price x 273/365: 273 days from D to the expiry, over the 365 days of the whole term
that ends on the expiry (2020-05-14 to 2021-05-14). A term containing 29 February has
366 days; a monthly term has the days of its month.

Money is `decimal.Decimal` throughout. Amounts are rounded half-even to the cent once,
per cost item (one product on one step, as an invoice line is), by `money`; a step's
amounts and the plan's totals are sums of those rounded items, so they add up as printed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from reconciler.calendar import add_months
from reconciler.facts import RENEWING_TERMS, TERM_MONTHS, expiry

CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """`amount` rounded half-even to the cent (2.345 -> 2.34, 2.355 -> 2.36); never -0.00."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return rounded if rounded else Decimal("0.00")


def term_start(expires: dt.date, term: str) -> dt.date:
    """The first day of the whole term that ends on `expires` (2021-05-14, 1y -> 2020-05-14)."""
    return add_months(expires, -TERM_MONTHS[term])


def renewal_on(expires: dt.date, term: str, day: dt.date) -> dt.date:
    """The PBX's renewal date as it stands on `day`.

    `expires` itself while `day` is on or before it (renewal and invoice fall on
    `expires_on`: a change on that very day is charged nothing now and renewed with the
    rest); moved on by whole terms when `day` is later (the portal renewed it meanwhile).
    """
    renewal = expires
    while renewal < day:
        renewal = expiry(renewal, term)
    return renewal


@dataclass(frozen=True)
class Span:
    """The part of a term a charge covers: from D to the renewal, out of the whole term's days."""

    start: dt.date
    end: dt.date
    days: int
    term_days: int

    def prorate(self, amount: Decimal) -> Decimal:
        """`amount` (a whole term's price) for this span, not yet rounded."""
        return amount * self.days / self.term_days


def remaining(day: dt.date, expires: dt.date, term: str) -> Span:
    """From `day` (D) to the PBX's renewal, out of the days of the whole term ending then."""
    end = renewal_on(expires, term, day)
    return Span(day, end, (end - day).days, (end - term_start(end, term)).days)


def first_term(day: dt.date, term: str) -> Span:
    """A whole term from `day`: a new PBX (or a new term) is charged in full, D to expiry(D, term)."""
    end = expiry(day, term)
    return Span(day, end, (end - day).days, (end - day).days)
