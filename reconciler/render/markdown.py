"""The markdown renderer: a pull-request comment.

A summary table first, then a section per customer: its errors and warnings, its steps
as a table, its notes. A customer with many steps is folded in <details>.
"""

from __future__ import annotations

from reconciler.render.common import (NO_CHANGES, SYMBOLS, by_customer, counts, customers_in, changes, status,
                                      summary_line)

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
        lines += _section(customer, step_groups.get(customer, []), notes.get(customer, []))
    return "\n".join(lines).rstrip() + "\n"


def _section(customer: str, steps: list[dict], notes: list[dict]) -> list[str]:
    order = {"error": 0, "warning": 1, "info": 2}
    body = [f"- {ICONS[d['severity']]} {_where(d)}{_cell(d['message'])} `{d['rule']}`"
            for d in sorted(notes, key=lambda d: order[d["severity"]])]
    if body:
        body.append("")
    if steps:
        body += ["| # | | action | PBX | changes | status |", "| ---: | --- | --- | --- | --- | --- |"]
        for step in steps:
            state = status(step)
            if step["status"] != "ready" and step.get("rules"):
                state += " (" + ", ".join(f"`{rule}`" for rule in step["rules"]) + ")"
            if step.get("instruction") and step["status"] != "ready":
                state += f": {step['instruction']}"
            body.append(f"| {step['id']} | {SYMBOLS.get(step['action'], '')} | {step['action']} | "
                        f"{step.get('pbx') or ''} | {_cell(changes(step))} | {_cell(state)} |")
        body.append("")
    title = f"{customer}: {len(steps)} step{'s' if len(steps) != 1 else ''}"
    if len(steps) > FOLD_AFTER:
        return [f"<details><summary><b>{title}</b></summary>", "", *body, "</details>", ""]
    return [f"### {title}", "", *body]


def _where(d: dict) -> str:
    return f"**{d['pbx']}**: " if d.get("pbx") else ""
