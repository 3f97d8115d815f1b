"""The portal's facts, as the planner and pricing know them: terms and their months, expiry, the
deletion windows, the minimum HWaaS months, grace and notice days, and the fixed product codes.

Each fact is written here once, with the seed it comes from, and every rule, the diff and
pricing read it from here. The sandbox portal (reconciler.sandbox) does not: it is the
independent check of the planner, so it restates the facts it enforces in its own words
(reconciler.sandbox.clock), and a wrong number here makes the sandbox refuse a step instead
of agreeing with it. The comment by each fact says which way the sandbox goes. Pure: no
I/O; imports only the calendar and the vocabulary (reconciler.domain), never the planner.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from reconciler.calendar import add_months
from reconciler.domain import PROFILE_CODES, Term

# Terms (seed 004). Shared with the sandbox: the term names are the portal's vocabulary (domain.Term), not a rule.
TERMS: tuple[str, ...] = get_args(Term)  # 1m, 1y, 5y, lifetime
# The months of each subscription term. Restated by the sandbox (sandbox.clock.TERM_MONTHS): its renewals and
# expiry dates are what a wrong number here would be caught by.
TERM_MONTHS = {"1m": 1, "1y": 12, "5y": 60}
RENEWING_TERMS = tuple(TERM_MONTHS)  # the terms that renew; lifetime (and a one-off purchase) do not


def expiry(start: dt.date, term: str) -> dt.date | None:
    """When a term started on `start` ends (and the PBX renews); None for a term that never ends (lifetime)."""
    months = TERM_MONTHS.get(term)
    return add_months(start, months) if months else None


# A cloud PBX left with zero licenses (seed 004, newer text: calendar days from the removal of the last license):
# stopped from D+5, irrevocably deleted on D+14. Restated by the sandbox (sandbox.clock), which runs the schedule.
STOPPED_AFTER = 5
DELETED_AFTER = 14

# License changes are recommended this many days before expires_on, inclusive (seed 004). Planner only: the
# portal advises it and enforces nothing, so the sandbox has nothing to restate.
RENEWAL_WINDOW = 2

# HWaaS is kept at least 6 months from its start, and a transfer starts them again (seeds 000, 003).
# Restated by the sandbox (sandbox.clock.MINIMUM_MONTHS), which refuses an earlier return.
MINIMUM_MONTHS = 6
# No hardware is ordered, converted or transferred with invoices overdue more than 5 days (the overdue payments
# page, 2025, which seeds 000-002 link to).
# Restated by the sandbox (sandbox.clock.OVERDUE_GRACE_DAYS), which refuses such a step.
OVERDUE_GRACE_DAYS = 5
# A conversion's or a transfer's credit note is issued within 5 business days (seeds 000, 003). Planner only:
# the sandbox issues no invoices.
CREDIT_NOTE_BUSINESS_DAYS = 5
# A mistake in an activation is reported to the Area Manager within 1 business day (seed 004). Planner only.
ACTIVATION_REPORT_BUSINESS_DAYS = 1

# Product codes (seed 004). The hardware PBX is bought once under this code; the sandbox restates it
# (sandbox.catalog.HARDWARE_PBX_PRODUCT) and refuses a purchase of anything else, so a typo here cannot pass.
HARDWARE_PBX_PRODUCT = "WPBX-HW"
# PBX-SERVICE licenses are free of charge (seed 004). Pricing only: the sandbox charges nothing.
FREE_PRODUCT = PROFILE_CODES["service"]
