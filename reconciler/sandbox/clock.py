"""What the portal does on its own as days pass: the deletion schedule and renewals.

Every read and every step first moves the portal's clock to the caller's date, so the
state a plan sees is the state the portal would hold that day (seed 004):
- a cloud PBX at zero licenses is `deletion-scheduled` from D, `stopped` from D+5 and
  gone from D+14, its HWaaS devices back in stock;
- a subscription PBX with licenses renews on its `expires_on`, by whole terms.
The clock never goes back: a portal cannot un-happen a renewal or a deletion. Each
move reads only what is due on the new date (by the indexes below), never every PBX.

The portal's numbers below are restated here on purpose, not imported from the planner's
(reconciler.facts): the sandbox is the independent check of the planner, and a wrong number
in one of the two makes the sandbox refuse a step or disagree with a plan, where sharing it
would make both wrong together. Each number is written from its seed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from reconciler.calendar import add_months
from reconciler.diagnostics import ReconcilerError
from reconciler.domain import PROFILES

LICENSED = " + ".join(PROFILES) + " > 0"
RENEWING = f"term != 'lifetime' AND expires_on IS NOT NULL AND {LICENSED}"
# Each step's transaction moves the clock first, so these indexes keep a step's cost independent
# of the portal's size: the clock reads only the PBXs whose next event is due (the sandbox's schema).
INDEXES = {
    "pbxes_by_deletion": "CREATE INDEX pbxes_by_deletion ON pbxes (deletion_scheduled_on) WHERE status != 'active'",
    "pbxes_by_expiry": f"CREATE INDEX pbxes_by_expiry ON pbxes (expires_on) WHERE {RENEWING}",
}

# Restated, not shared (see above). Seed 004: the months of a subscription term; lifetime never expires.
TERM_MONTHS = {"1m": 1, "1y": 12, "5y": 60}
# Seed 004: a cloud PBX at zero licenses is stopped in five calendar days, deleted in 14.
STOPPED_AFTER = 5
DELETED_AFTER = 14
# Seeds 000, 003: HWaaS is kept a minimum of 6 months (from its start, a conversion or a transfer).
MINIMUM_MONTHS = 6
# The overdue payments page: no hardware order, conversion or transfer with invoices overdue more than 5 days.
OVERDUE_GRACE_DAYS = 5


def expiry(start: dt.date, term: str) -> dt.date | None:
    """The portal's expiry of a term started on `start`: one term later; None for lifetime."""
    months = TERM_MONTHS.get(term)
    return add_months(start, months) if months else None


def advance(conn: sqlite3.Connection, today: dt.date) -> None:
    """Move the clock to `today` (inside the caller's transaction); raises if `today` is before it."""
    seen = conn.execute("SELECT today FROM clock").fetchone()[0]
    if seen is not None and today < dt.date.fromisoformat(seen):
        raise ReconcilerError(f"the sandbox portal's clock is at {seen}: it cannot act on {today}, a portal "
                              f"never goes back in time; use --today {seen} or later, or reset or load the sandbox")
    conn.execute("UPDATE clock SET today = ?", (today.isoformat(),))
    _deletion_schedule(conn, today)
    _renewals(conn, today)


def _deletion_schedule(conn: sqlite3.Connection, today: dt.date) -> None:
    """Only the PBXs whose next deletion event is due (index `pbxes_by_deletion`); ISO dates compare as text."""
    gone_by = (today - dt.timedelta(days=DELETED_AFTER)).isoformat()
    stopped_by = (today - dt.timedelta(days=STOPPED_AFTER)).isoformat()
    rows = conn.execute("SELECT customer, name FROM pbxes WHERE status != 'active' AND deletion_scheduled_on <= ?",
                        (gone_by,)).fetchall()
    for key in rows:
        returned = conn.execute("SELECT product, COUNT(*) AS n FROM devices WHERE customer = ? AND pbx = ? "
                                "AND billing = 'hwaas' GROUP BY product", tuple(key)).fetchall()
        for device in returned:
            add_stock(conn, device["product"], device["n"])
        conn.execute("DELETE FROM devices WHERE customer = ? AND pbx = ?", tuple(key))
        conn.execute("DELETE FROM pbxes WHERE customer = ? AND name = ?", tuple(key))
    conn.execute("UPDATE pbxes SET status = 'stopped' WHERE status != 'active' AND deletion_scheduled_on <= ? "
                 "AND status != 'stopped'", (stopped_by,))


def _renewals(conn: sqlite3.Connection, today: dt.date) -> None:
    """Only the PBXs due to renew (index `pbxes_by_expiry`: its condition is the query's, word for word)."""
    rows = conn.execute(f"SELECT customer, name, term, expires_on FROM pbxes WHERE {RENEWING} AND expires_on <= ?",
                        (today.isoformat(),)).fetchall()
    for row in rows:
        expires, months = dt.date.fromisoformat(row["expires_on"]), TERM_MONTHS[row["term"]]
        terms = 1
        while add_months(expires, terms * months) <= today:  # from the old date: no drift at month ends
            terms += 1
        conn.execute("UPDATE pbxes SET expires_on = ? WHERE customer = ? AND name = ?",
                     (add_months(expires, terms * months).isoformat(), row["customer"], row["name"]))


def add_stock(conn: sqlite3.Connection, product: str, units: int) -> None:
    """Stock moves by `units` (negative: units leave); a product never stocked starts at 0 and may go negative."""
    conn.execute("INSERT INTO stock VALUES (?, ?) ON CONFLICT (product) DO UPDATE SET units = units + excluded.units",
                 (product, units))
