"""The text renderer: what a person reads in a terminal, Terraform-like.

Errors and warnings (the deletion dates among them) come first, then the steps in plan
order grouped by customer, one line each with a symbol per kind of action, then the
summary line. Colors only when the caller says the output is a terminal. A priced plan
(one made with a price book) has two more columns, what each step charges now and how it
changes each renewal invoice, a total per customer with its PBXs' renewal dates, and the
plan's total after the summary line.
"""

from __future__ import annotations

from reconciler.render.common import (DRIFT_TITLE, NO_CHANGES, SYMBOLS, address, by_customer, changes, charged_now,
                                      costs_line, costs_of, drift_lines, per_renewal, renewal_lines, status,
                                      summary_line, unpriced)
from reconciler.render.escape import visible_document

COLORS = {"+": "32", "-": "31", "~": "33", ">": "36", "error": "1;31", "warning": "33", "blocked": "33",
          "manual": "35", "bold": "1"}


def render(doc: dict, color: bool = False) -> str:
    doc = visible_document(doc)  # no control character, C1 or bidi override of user data reaches the terminal
    def paint(text: str, kind: str) -> str:
        return f"\033[{COLORS[kind]}m{text}\033[0m" if color and kind in COLORS else text

    lines = [paint(f"reconciler plan for {doc['today']} ({doc['timezone']})", "bold"), ""]
    diagnostics = doc.get("diagnostics", [])
    for severity in ("error", "warning"):
        found = [d for d in diagnostics if d["severity"] == severity]
        if found:
            lines.append(paint(f"{severity.capitalize()}s:", severity))
            lines += [f"  {_diagnostic(d)}" for d in found]
            lines.append("")

    drifted = drift_lines(doc)
    if drifted:
        lines += [paint(f"{DRIFT_TITLE}:", "warning"), *[f"  ~ {line}" for line in drifted], ""]

    steps = doc.get("steps", [])
    if not steps:
        lines.append(NO_CHANGES)
        _infos(lines, diagnostics, None)
        return "\n".join(lines) + "\n"

    infos = by_customer([d for d in diagnostics if d["severity"] == "info"])
    width = max(len(step["action"]) for step in steps)
    place = max(len(address(step)) for step in steps)
    costs = costs_of(doc)
    money = _Columns(steps, costs) if costs else None
    indent = 12 + width + place  # where the cost columns start: after the id, symbol, action and address
    if money:
        lines.append(f"Costs in {costs['currency']}: \"now\" is charged when the step runs (prorated to the PBX's "
                     "renewal), \"renewal\" is the change to each renewal invoice.")
        lines.append("")
    for customer, customer_steps in by_customer(steps).items():
        title = paint(customer, "bold")
        if money:
            title += " " * (indent - len(customer)) + money.header()
        lines.append(title)
        for step in customer_steps:
            symbol = SYMBOLS.get(step["action"], "?")
            cells = money.cells(step["cost"], step["cost"] and step["cost"]["recurring"]) if money else ""
            line = (f"  {step['id']:>3} {paint(symbol, symbol)} {step['action']:<{width}}  "
                    f"{address(step):<{place}}  {cells}{changes(step)}")
            lines.append(line.rstrip())
            if step["status"] != "ready":
                why = ", ".join(step.get("rules", []))
                detail = status(step) + (f" [{why}]" if why else "")
                if step.get("instruction"):
                    detail += f": {step['instruction']}"
                lines.append(f"        {paint(detail, step['status'])}")
        if money:
            totals = costs["by_customer"].get(customer, {})
            lines.append(f"{'total':>{indent - 2}}  {money.cells(totals, totals.get('recurring'))}{unpriced(totals)}"
                         .rstrip())
            lines += [f"      r {text}" for text in renewal_lines(totals)]
        for info in infos.pop(customer, []):
            lines.append(f"      i {info['message']} [{info['rule']}]")
        lines.append("")
    _infos(lines, [d for group in infos.values() for d in group], None)
    lines.append(paint(summary_line(doc), "bold"))
    if costs:
        lines.append(paint(costs_line(costs, costs["currency"]), "bold"))
    return "\n".join(lines) + "\n"


class _Columns:
    """The two cost columns, `now` right-aligned and `renewal` left-aligned, as wide as their widest cell."""

    def __init__(self, steps: list[dict], costs: dict):
        rows = [(s["cost"], s["cost"] and s["cost"]["recurring"]) for s in steps]
        rows += [(t, t.get("recurring")) for t in costs["by_customer"].values()]
        self.now = max([len("now")] + [len(charged_now(cost)) for cost, _ in rows])
        self.renewal = max([len("renewal")] + [len(per_renewal(recurring)) for _, recurring in rows])

    def header(self) -> str:
        return f"{'now':>{self.now}}  renewal"

    def cells(self, cost: dict | None, recurring: dict | None) -> str:
        return f"{charged_now(cost):>{self.now}}  {per_renewal(recurring):<{self.renewal}}  "


def _infos(lines: list[str], diagnostics: list[dict], _customer) -> None:
    rest = [d for d in diagnostics if d["severity"] == "info"]
    if rest:
        lines += [f"  i {_diagnostic(d)}" for d in rest]
        lines.append("")


def _diagnostic(d: dict) -> str:
    where = ""
    if d.get("file"):
        where = d["file"] + (f":{d['line']}:{d['column']}" if d.get("line") else "") + ": "
    elif d.get("customer"):
        where = (f"{d['customer']}/{d['pbx']}" if d.get("pbx") else d["customer"]) + ": "
    return f"{where}{d['message']} [{d['rule']}]"
