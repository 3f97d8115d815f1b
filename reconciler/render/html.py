"""The HTML renderer: a plan report that draws the plan's calendar.

One self-contained file (inline CSS and SVG; no script, font, image or request: a
Content-Security-Policy says so to the browser), so it opens from a CI artifact or an e-mail.
It holds what the markdown comment holds, the summary first, the customers that need a
reviewer's eye next, then the others, and adds the timeline: a lane per customer with dated
events (timeline.py finds them), each mark named on hover and again in the table under the
chart. It prints (a print stylesheet) and follows a dark colour scheme.

A pure function of the plan document. The template is Jinja2's, with autoescaping on: company
names, PBX names and messages are user data.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from reconciler.render import timeline
from reconciler.render.common import (NO_CHANGES, SYMBOLS, by_customer, changes, charged_now, costs_line, costs_of,
                                      counts, customers_in, needs_attention, per_renewal, renewal_lines, status,
                                      summary_line, tally, unpriced, WHY_UNKNOWN)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
TEMPLATES = Environment(loader=PackageLoader("reconciler.render", "templates"), autoescape=True,
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(doc: dict, color: bool = False) -> str:
    steps, diagnostics = doc.get("steps", []), doc.get("diagnostics", [])
    customers = customers_in(doc)
    costs = costs_of(doc)
    found = timeline.events(doc)
    return TEMPLATES.get_template("plan.html.j2").render(
        doc=doc,
        headline=summary_line(doc) if steps else NO_CHANGES,
        counts=counts(doc),
        customers=customers,
        costs=costs_line(costs, costs["currency"]) if costs and steps else "",
        general=[d for d in diagnostics if not d.get("customer")],
        sections=_sections(doc, customers, costs),
        chart=timeline.layout(doc, found, customers),
        events=found,
        kinds=timeline.KINDS,
        legend=[kind for kind in timeline.KINDS if any(event.kind == kind for event in found)],
        shape_path=timeline.shape_path,
    )


def _sections(doc: dict, customers: list[str], costs: dict | None) -> list[dict]:
    """One per customer, those that need attention first, each in the plan's order."""
    steps, diagnostics = doc.get("steps", []), doc.get("diagnostics", [])
    step_groups = by_customer(steps)
    notes = by_customer([d for d in diagnostics if d.get("customer")])
    sections = []
    for customer in customers:
        mine, remarks = step_groups.get(customer, []), notes.get(customer, [])
        totals = costs["by_customer"].get(customer) if costs else None
        sections.append({
            "customer": customer,
            "attention": needs_attention(mine, remarks),
            "tally": tally(counts(doc, customer), remarks),
            "notes": sorted(remarks, key=lambda d: SEVERITY_ORDER[d["severity"]]),
            "steps": [_row(step, priced=costs is not None) for step in mine],
            "priced": costs is not None,
            "total": _money(totals, totals.get("recurring")) if totals else None,
            "unpriced": unpriced(totals) if totals else "",
            "renewals": renewal_lines(totals) if totals else [],
        })
    return sorted(sections, key=lambda s: not s["attention"])


def _row(step: dict, priced: bool) -> dict:
    return {
        "step": step,
        "symbol": SYMBOLS.get(step["action"], ""),
        "changes": changes(step),
        "status": status(step),
        "money": _money(step["cost"], step["cost"] and step["cost"]["recurring"]) if priced else None,
    }


def _money(cost: dict | None, recurring: dict | None) -> dict:
    """Charged now (with why it is not known) and the change per renewal, as the markdown table has them."""
    why = [note for note in (cost or {}).get("notes", []) if note in WHY_UNKNOWN] if cost and cost.get("one_off") is None \
        else []
    return {"now": charged_now(cost), "why": why, "renewal": per_renewal(recurring, per=" per ")}
