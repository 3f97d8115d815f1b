"""The calendar helpers at their boundaries: month ends, leap years, the year end, timezones."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.calendar import (add_business_days, add_months, first_of_next_month, is_last_day_of_month,
                                 last_day_of_month, today_in)

D = dt.date.fromisoformat


@pytest.mark.parametrize("day, last, is_last", [
    ("2026-04-30", "2026-04-30", True),    # 30-day month
    ("2026-04-29", "2026-04-30", False),
    ("2026-05-31", "2026-05-31", True),    # 31-day month
    ("2026-05-30", "2026-05-31", False),
    ("2027-02-28", "2027-02-28", True),    # not a leap year
    ("2028-02-28", "2028-02-29", False),   # leap year: the 28th is not the last
    ("2028-02-29", "2028-02-29", True),
    ("2026-12-31", "2026-12-31", True),
    ("2026-12-01", "2026-12-31", False),
])
def test_last_day_of_month(day, last, is_last):
    assert last_day_of_month(D(day)) == D(last)
    assert is_last_day_of_month(D(day)) is is_last


@pytest.mark.parametrize("day, first", [
    ("2026-11-30", "2026-12-01"),
    ("2026-12-31", "2027-01-01"),
    ("2027-02-28", "2027-03-01"),
    ("2028-02-28", "2028-03-01"),
    ("2028-02-29", "2028-03-01"),
    ("2026-05-01", "2026-06-01"),
])
def test_first_of_next_month(day, first):
    assert first_of_next_month(D(day)) == D(first)


@pytest.mark.parametrize("day, months, result", [
    ("2026-08-31", 6, "2027-02-28"),   # clamped to the month's end
    ("2027-08-31", 6, "2028-02-29"),   # leap year
    ("2026-06-01", 6, "2026-12-01"),
    ("2026-07-15", 6, "2027-01-15"),   # over the year end
    ("2026-12-31", 1, "2027-01-31"),
    ("2026-05-14", 12, "2027-05-14"),
    ("2028-02-29", 12, "2029-02-28"),
    ("2027-02-28", -6, "2026-08-28"),
    ("2026-03-31", -1, "2026-02-28"),
    ("2026-03-31", 0, "2026-03-31"),
])
def test_add_months(day, months, result):
    assert add_months(D(day), months) == D(result)


@pytest.mark.parametrize("day, n, result", [
    ("2026-11-18", 1, "2026-11-19"),   # Wednesday -> Thursday
    ("2026-11-20", 1, "2026-11-23"),   # Friday -> Monday
    ("2026-11-21", 1, "2026-11-23"),   # Saturday -> Monday
    ("2026-11-22", 1, "2026-11-23"),   # Sunday -> Monday
    ("2026-11-18", 5, "2026-11-25"),   # a full week
    ("2026-12-31", 1, "2027-01-01"),   # Thursday over the year end (holidays are not known)
    ("2026-11-20", 0, "2026-11-20"),
    ("2026-11-23", -1, "2026-11-20"),  # Monday back to Friday
])
def test_add_business_days(day, n, result):
    assert add_business_days(D(day), n) == D(result)


@pytest.mark.parametrize("now, tz, day", [
    (dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone.utc), "Europe/Rome", "2026-12-01"),
    (dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone.utc), "UTC", "2026-11-30"),
    (dt.datetime(2026, 11, 30, 22, 59, tzinfo=dt.timezone.utc), "Europe/Rome", "2026-11-30"),
    (dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc), "America/New_York", "2026-11-30"),
    (dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.timezone.utc), "Europe/Rome", "2027-01-01"),
    (dt.datetime(2026, 7, 31, 22, 30, tzinfo=dt.timezone.utc), "Europe/Rome", "2026-08-01"),  # summer time: +2
    (dt.datetime(2026, 11, 30, 23, 30), "Europe/Rome", "2026-12-01"),  # naive: taken as UTC
])
def test_today_in(now, tz, day):
    assert today_in(tz, now) == D(day)
