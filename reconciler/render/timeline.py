"""The plan's calendar: which dated events a plan holds, and where they fall on a timeline.

Time is what makes a plan hard to review: a decrease deferred to the 1st, a PBX stopped on
D+5 and deleted on D+14, a return blocked until its minimum term ends, a credit note due in
5 business days, a renewal inside its 2-day window. The plan document carries some of these
dates as fields (a step's `not_before`, a priced PBX's `renews_on`) and the others only in its
messages, where every date is ISO 8601 (FORMAT.md section 6). `events` reads both, in one
place: the words just before a date in a message say what the date is (LEADS), so a new kind
of date is one line there, and a date no lead knows still shows, as an "other date".

`layout` is the chart's geometry: one lane per customer with dated events, an axis from the
plan date to the last event with every month end marked (no license decrease on the last day
of a month), the events of one kind on one day drawn as one mark, and the marks stacked
where they would overlap. Pure: the plan document in,
numbers out; the HTML template draws them.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby

from reconciler.render.common import address, changes, status

KINDS = {  # kind -> what a mark of it is, in the legend's order
    "ready": "ready step (today)",
    "manual": "manual step (today: needs a person)",
    "blocked": "blocked step (from its date)",
    "stop": "PBX stopped",
    "deletion": "PBX deleted",
    "renewal": "renewal (expiry and invoice)",
    "minimum-term": "minimum term ends",
    "credit-note": "credit note due",
    "activation": "activation report deadline",
    "last-day": "last day of the month",
    "date": "other date",
}
SHAPES = {"ready": "circle", "manual": "circle", "blocked": "circle", "stop": "square", "deletion": "square",
          "renewal": "diamond", "minimum-term": "diamond"}  # the others: a triangle

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LEADS = [(re.compile(f"(?:{pattern})$"), kind) for pattern, kind in (
    (r"stopped on |resumed before ", "stop"),
    (r"deleted on ", "deletion"),
    (r"paid until |expire with it on |expiring with it on |renewal on |fall on |renews on |invoiced, on "
     r"|\d[my],? until "
     r"|expiry dates differ \((?:\d{4}-\d\d-\d\d and )?", "renewal"),
    (r"kept at least until |billed until |minimum term ends on ", "minimum-term"),
    (r"credit note[^.;:]*? by ", "credit-note"),
    (r"activation[^;]*? by ", "activation"),
    (r"last day of the month \(", "last-day"),
    (r"zero licenses on |prorated from |start \(|since |to (?:1m|1y|5y|lifetime) from |instead of ", None),
    # the step's own day, a date behind us, or one that no longer holds
)]
LEAD_CHARS = 80  # how far back a lead is looked for
OWNER = re.compile(r"([^\s/(),:]+)/([^\s/(),:]+): \S+ until $")  # `acme/acme: 1y until `: another PBX's expiry


@dataclass(frozen=True)
class Event:
    day: str
    customer: str
    pbx: str | None
    kind: str
    label: str  # what the mark is, short: `step 2 remove-licenses`, `globex: PBX deleted`
    detail: str  # the step or the message it comes from
    step: int | None = None


def events(doc: dict) -> list[Event]:
    """Every dated event of the plan from its date on, in date order: the one place dates are found."""
    today = doc["today"]
    found = [event for step in doc.get("steps", []) for event in _step_events(step, today)]
    for d in doc.get("diagnostics", []):
        where = d.get("pbx") or d.get("customer") or "plan"
        found += _dated(d["message"], today, d.get("customer") or "", d.get("pbx"), where, rule=d["rule"])
    found += _renewals(doc, today)
    unique: dict[tuple, Event] = {}
    for event in found:  # a date named twice (a renewal in a message and in the costs) is one event
        unique.setdefault((event.day, event.customer, event.pbx, event.kind, event.step), event)
    order = list(KINDS)
    return sorted(unique.values(), key=lambda e: (e.day, e.customer, order.index(e.kind), e.step or 0))


def _step_events(step: dict, today: str) -> list[Event]:
    """A ready or manual step is today's, a blocked one falls on its `not_before`; then its instruction's dates."""
    text = f"{step['action']} {address(step)}: {changes(step)}".rstrip(": ") + f" ({status(step)})"
    day = today if step["status"] in ("ready", "manual") else step.get("not_before")
    found = [Event(day, step["customer"], step.get("pbx"), step["status"], f"step {step['id']} {step['action']}",
                   text, step["id"])] if day else []
    if step.get("instruction"):
        found += _dated(step["instruction"], today, step["customer"], step.get("pbx"), address(step))
    return found


def _renewals(doc: dict, today: str) -> list[Event]:
    """The renewal date of each PBX a priced plan touches."""
    found = []
    costs = (doc.get("summary") or {}).get("costs") or {}
    for customer, totals in sorted((costs.get("by_customer") or {}).items()):
        for pbx, renewal in sorted((totals.get("renewals") or {}).items()):
            if renewal.get("renews_on") and renewal["renews_on"] >= today:
                window = ": the plan's changes fall within its renewal window" if renewal.get("renewal_window") else ""
                found.append(Event(renewal["renews_on"], customer, pbx, "renewal", f"{pbx}: {KINDS['renewal']}",
                                   f"{pbx} renews on {renewal['renews_on']} ({renewal['term']}){window}"))
    return found


def _dated(message: str, today: str, customer: str, pbx: str | None, where: str,
           rule: str | None = None) -> list[Event]:
    """The events of the dates in a message from `today` on; the plan's own day only when it is a deadline."""
    found = []
    for match in DATE.finditer(message):
        day = match.group()
        lead = message[max(0, match.start() - LEAD_CHARS):match.start()]
        kind = next((kind for pattern, kind in LEADS if pattern.search(lead)), "date")
        if kind is None or day < today:
            continue
        owner = OWNER.search(lead)
        whose, which, place = (*owner.groups(), "/".join(owner.groups())) if owner else (customer, pbx, where)
        detail = f"{message} [{rule}]" if rule else message
        found.append(Event(day, whose, which, kind, f"{place}: {KINDS[kind]}", detail))
    return found


# The chart's geometry, in SVG user units.
WIDTH, LEFT, RIGHT = 960, 150, 20
TOP, ROW, LANE_PAD, AXIS = 34, 14, 10, 30
MIN_DAYS, LINEAR_UP_TO = 14, 92  # a shorter plan still shows two weeks; a longer one a compressed scale
LABEL_GAP = 62  # the least room between two labels on the axis
MAX_LANES = 60  # a larger plan keeps the lanes with the most to see, and counts the others


@dataclass(frozen=True)
class Mark:
    """One mark on a lane: the events of one kind on one day (four ready steps today are one mark, counted)."""

    x: float
    y: float
    shape: str
    events: tuple[Event, ...]

    @property
    def day(self) -> str:
        return self.events[0].day

    @property
    def kind(self) -> str:
        return self.events[0].kind

    @property
    def steps(self) -> str:
        return " ".join(str(e.step) for e in self.events if e.step)

    @property
    def title(self) -> str:
        """What the mark says on hover: each of its events, with where it comes from."""
        if len(self.events) == 1:
            return f"{self.day}: {self.events[0].label}. {self.events[0].detail}"
        each = "; ".join(f"{e.label}: {e.detail}" for e in self.events)
        return f"{self.day}: {len(self.events)} x {KINDS[self.kind]}. {each}"


@dataclass(frozen=True)
class Lane:
    customer: str
    y: float
    height: float
    marks: list[Mark]


@dataclass(frozen=True)
class Tick:
    x: float
    day: str
    label: str  # empty when there is no room for one


@dataclass
class Chart:
    start: str
    end: str
    compressed: bool
    height: float
    lanes: list[Lane] = field(default_factory=list)
    month_ends: list[Tick] = field(default_factory=list)
    folded: int = 0  # customers with dated events but no lane of their own (a large plan): the table has them
    undated: int = 0  # customers in the plan with no dated event

    width: int = WIDTH
    left: int = LEFT
    top: int = TOP


def layout(doc: dict, found: list[Event], customers: list[str]) -> Chart:
    start = date.fromisoformat(doc["today"])
    last = max([date.fromisoformat(e.day) for e in found] + [start + timedelta(days=MIN_DAYS)])
    span = (last - start).days
    compressed = span > LINEAR_UP_TO

    def x(day: date) -> float:
        share = (day - start).days / span
        return round(LEFT + (math.sqrt(share) if compressed else share) * (WIDTH - LEFT - RIGHT), 1)

    grouped: dict[str, list[Event]] = {}
    for event in found:
        grouped.setdefault(event.customer, []).append(event)
    names = sorted(grouped, key=lambda c: (not _beyond_today(grouped[c], doc["today"]), c))
    shown = sorted(names[:MAX_LANES])
    chart = Chart(doc["today"], last.isoformat(), compressed, 0, folded=len(names) - len(shown),
                  undated=len([c for c in customers if c not in grouped]))
    y = TOP + AXIS
    for customer in shown:
        marks, rows = [], []  # rows: the x of the last mark in each row
        for (day, kind), same in groupby(grouped[customer], key=lambda e: (e.day, e.kind)):
            at = x(date.fromisoformat(day))
            row = next((i for i, end in enumerate(rows) if at - end >= ROW), len(rows))
            rows[row:row + 1] = [at]
            marks.append(Mark(at, y + LANE_PAD + row * ROW, SHAPES.get(kind, "triangle"), tuple(same)))
        height = LANE_PAD * 2 + max(0, len(rows) - 1) * ROW
        chart.lanes.append(Lane(customer, y, height, marks))
        y += height
    chart.height = y + 8
    labelled = LEFT - LABEL_GAP
    for end in _month_ends(start, last):
        at = x(end)
        label = end.strftime("%d %b %Y" if end.month == 12 or not chart.month_ends else "%d %b")
        if at - labelled < LABEL_GAP:
            label = ""
        else:
            labelled = at
        chart.month_ends.append(Tick(at, end.isoformat(), label))
    return chart


def _beyond_today(found: list[Event], today: str) -> bool:
    return any(e.day > today or e.kind not in ("ready", "manual") for e in found)


def _month_ends(start: date, last: date) -> list[date]:
    ends, year, month = [], start.year, start.month
    while True:
        end = date(year, month, calendar.monthrange(year, month)[1])
        if end > last:
            return ends
        ends.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def shape_path(mark: Mark, size: float = 5.5) -> str:
    """The SVG path of a square, diamond or triangle mark centred on it."""
    x, y, s = mark.x, mark.y, size
    if mark.shape == "square":
        s *= 0.85
        return f"M{x - s:.1f},{y - s:.1f}h{2 * s:.1f}v{2 * s:.1f}h{-2 * s:.1f}z"
    if mark.shape == "diamond":
        return f"M{x:.1f},{y - s:.1f}l{s:.1f},{s:.1f}l{-s:.1f},{s:.1f}l{-s:.1f},{-s:.1f}z"
    return f"M{x:.1f},{y - s:.1f}l{s:.1f},{2 * s * 0.87:.1f}h{-2 * s:.1f}z"
