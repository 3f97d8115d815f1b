"""Pure date helpers for the portal's calendar rules.

The rules speak of "the last day of the month", "6 months from", "5 business days after"
and "today in the repo's timezone"; they are written once here so every rule (and every
test) agrees on the boundaries: month ends, leap years, the year end. No clock is read
here: the caller passes `now`.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from zoneinfo import ZoneInfo


def last_day_of_month(d: dt.date) -> dt.date:
    """The last calendar day of d's month (2028-02-15 -> 2028-02-29)."""
    return d.replace(day=_calendar.monthrange(d.year, d.month)[1])


def is_last_day_of_month(d: dt.date) -> bool:
    return d == last_day_of_month(d)


def first_of_next_month(d: dt.date) -> dt.date:
    """The 1st of the month after d's (2026-12-31 -> 2027-01-01)."""
    return last_day_of_month(d) + dt.timedelta(days=1)


def add_months(d: dt.date, n: int) -> dt.date:
    """d moved by n calendar months, clamped to the month's end (2026-08-31 + 6 -> 2027-02-28)."""
    index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    day = min(d.day, _calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def add_business_days(d: dt.date, n: int) -> dt.date:
    """d moved by n business days (Monday to Friday; public holidays are not known here).

    Counting starts the day after d: a Friday + 1 business day is the next Monday.
    A negative n counts backwards.
    """
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    current = d
    while remaining:
        current += dt.timedelta(days=step)
        if current.weekday() < 5:
            remaining -= 1
    return current


def today_in(tz_name: str, now: dt.datetime) -> dt.date:
    """The calendar date of the instant `now` in the IANA timezone tz_name.

    A naive `now` is taken as UTC. 2026-11-30 23:30 UTC is 2026-12-01 in Europe/Rome.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(ZoneInfo(tz_name)).date()


def portal_day(today: dt.date, tz_name: str, portal_tz: str) -> dt.date:
    """The portal's other date while it is `today` in tz_name (the day before or after), or `today` itself.

    The partner's day spans at most two of the portal's dates: `today` and this one. A rule the portal
    enforces by its own calendar (no decrease on the last day) holds if it holds at any moment of the
    partner's day. A plan is judged from its date alone, so a saved plan and its re-plan agree.
    2026-12-01 in Europe/Rome spans 2026-11-30 and 2026-12-01 in UTC: 2026-11-30.
    """
    start = dt.datetime.combine(today, dt.time(), ZoneInfo(tz_name))
    days = [today_in(portal_tz, moment) for moment in (start, start + dt.timedelta(days=1, seconds=-1))]
    return next((day for day in days if day != today), today)
