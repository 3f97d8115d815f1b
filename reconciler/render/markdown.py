"""The markdown renderer: a pull-request comment.

A summary table first, then a section per customer: its errors and warnings, its steps
as a table, its notes. A customer with many steps is folded in <details>. A priced plan
(one made with a price book) has its total cost on a line at the top, two more columns in
each customer's table (charged now, change per renewal) with a total row, and the
renewal date of each PBX the plan touches.
"""

from __future__ import annotations

from reconciler.render.common import (NO_CHANGES, SYMBOLS, by_customer, counts, customers_in, changes, charged_now,
                                      costs_line, costs_of, per_renewal, renewal_lines, status, summary_line, unpriced,
                                      WHY_UNKNOWN)

FOLD_AFTER = 10  # steps; a longer section is folded
ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(doc: dict, color: bool = False) -> str:
    steps = doc.get("steps", [])
    diagnostics = doc.get("diagnostics", [])
    lines = [f"## reconciler plan for {doc['today']} ({doc['timezone']})", ""]
    if not steps:
        lines += [f"**{NO_CHANGES}**", ""]
    else:
        lines += [f"**{summary_line(steps)}**", ""]
    costs = costs_of(doc)
    if costs and steps:
        lines += [f"**{costs_line(costs, costs['currency'])}**", ""]
    general = [d for d in diagnostics if not d.get("customer")]
    lines += [f"- {ICONS[d['severity']]} {_cell(d['message'])} `{d['rule']}`" for d in general]
    if general:
        lines.append("")

    customers = customers_in(doc)
    if not customers:
        return "\n".join(lines).rstrip() + "\n"
    step_groups = by_customer(steps)
    notes = by_customer([d for d in diagnostics if d.get("customer")])
    lines += ["| customer | ready | blocked | manual | errors | warnings |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for customer in customers:
        tally = counts(step_groups.get(customer, []))
        severities = [d["severity"] for d in notes.get(customer, [])]
        lines.append(f"| {customer} | {tally['ready']} | {tally['blocked']} | {tally['manual']} | "
                     f"{severities.count('error')} | {severities.count('warning')} |")
    lines.append("")

    for customer in customers:
        totals = costs["by_customer"].get(customer) if costs else None
        lines += _section(customer, step_groups.get(customer, []), notes.get(customer, []), totals)
    return "\n".join(lines).rstrip() + "\n"


def _section(customer: str, steps: list[dict], notes: list[dict], costs: dict | None = None) -> list[str]:
    order = {"error": 0, "warning": 1, "info": 2}
    body = [f"- {ICONS[d['severity']]} {_where(d)}{_cell(d['message'])} `{d['rule']}`"
            for d in sorted(notes, key=lambda d: order[d["severity"]])]
    if body:
        body.append("")
    if steps:
        priced = costs is not None
        money = " charged now | per renewal |" if priced else ""
        body += [f"| # | | action | PBX | changes |{money} status |",
                 "| ---: | --- | --- | --- | --- |" + (" ---: | ---: |" if priced else "") + " --- |"]
        for step in steps:
            state = status(step)
            if step["status"] != "ready" and step.get("rules"):
                state += " (" + ", ".join(f"`{rule}`" for rule in step["rules"]) + ")"
            if step.get("instruction") and step["status"] != "ready":
                state += f": {step['instruction']}"
            cells = _money(step["cost"], step["cost"] and step["cost"]["recurring"]) if priced else ""
            body.append(f"| {step['id']} | {SYMBOLS.get(step['action'], '')} | {step['action']} | "
                        f"{step.get('pbx') or ''} | {_cell(changes(step))} |{cells} {_cell(state)} |")
        if priced:
            body.append(f"| | | **total** | | |{_money(costs, costs.get('recurring'), bold=True)} {unpriced(costs)} |")
        body.append("")
    if costs:
        body += [f"- 🗓️ {text.replace('[renewal-window]', '`renewal-window`')}" for text in renewal_lines(costs)]
        body.append("")
    title = f"{customer}: {len(steps)} step{'s' if len(steps) != 1 else ''}"
    if len(steps) > FOLD_AFTER:
        return [f"<details><summary><b>{title}</b></summary>", "", *body, "</details>", ""]
    return [f"### {title}", "", *body]


def _money(cost: dict | None, recurring: dict | None, bold: bool = False) -> str:
    """The two cost cells: charged now (with why it is not known) and the change per renewal."""
    now, renewal = charged_now(cost), per_renewal(recurring, per=" per ")
    if cost and cost.get("one_off") is None:
        now += "".join(f" `{note}`" for note in cost.get("notes", []) if note in WHY_UNKNOWN)
    if bold:
        now, renewal = f"**{now}**", f"**{renewal}**" if renewal else ""
    return f" {_cell(now)} | {_cell(renewal)} |"


def _where(d: dict) -> str:
    return f"**{d['pbx']}**: " if d.get("pbx") else ""
