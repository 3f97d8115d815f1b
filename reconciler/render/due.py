"""`plan --due`: the blocked steps by the date they become ready, so nobody has to remember them.

A decrease deferred to the 1st, a return after its 6-month minimum: the plan knows each
date (`not_before`). This view lists them by date, nearest first, with the days left,
then the steps that wait on a condition and have no date. The daily scheduled pipeline
applies each one on its date (`reconciler apply --auto-approve`); this view is what a
person reads to know what it will do. Pure: a function of the plan document.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from reconciler.render.common import address, changes, counts
from reconciler.render.escape import visible_document


def due_dates(doc: dict) -> list[tuple[str, list[dict]]]:
    """(date, its blocked steps) for each date a blocked step may go, in date order."""
    dated = sorted((s for s in doc.get("steps", []) if s["status"] == "blocked" and s.get("not_before")),
                   key=lambda s: (s["not_before"], s["id"]))
    return [(date, list(steps)) for date, steps in groupby(dated, key=lambda s: s["not_before"])]


def _line(step: dict) -> str:
    rules = f" [{', '.join(step['rules'])}]" if step.get("rules") else ""
    return f"    {step['id']} {step['action']}  {address(step)}  {changes(step)}{rules}"


def render(doc: dict, color: bool = False) -> str:
    doc = visible_document(doc)  # a terminal view, as the text plan: user data shows its control characters escaped
    today = dt.date.fromisoformat(str(doc["today"]))
    lines = [f"Due steps, as planned on {doc['today']} ({doc.get('timezone', 'UTC')}):", ""]
    for date, steps in due_dates(doc):
        days = (dt.date.fromisoformat(date) - today).days
        lines += [f"  {date} (in {days} day{'s' if days != 1 else ''})", *map(_line, steps), ""]
    waiting = [s for s in doc.get("steps", []) if s["status"] == "blocked" and not s.get("not_before")]
    if waiting:
        lines += ["  no date: blocked while a condition holds", *map(_line, waiting), ""]
    if len(lines) == 2:
        lines += ["  none: no step waits for a date.", ""]
    ready = counts(doc)["ready"]
    lines.append(f"{ready} step{'s' if ready != 1 else ''} ready today. A scheduled `reconciler apply "
                 "--auto-approve` applies each blocked step on its date.")
    return "\n".join(lines) + "\n"
