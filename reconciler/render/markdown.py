"""The markdown renderer: a pull-request comment.

The whole plan's summary first (customers, steps by status, errors, warnings, costs),
the diagnostics that belong to no customer, then one folded section per customer: its
errors and warnings, its steps as a table, its notes. A section is open when its customer
needs a reviewer's eye (errors, warnings, blocked or manual steps) or when the plan is
small. A priced plan (one made with a price book) has its total cost at the top, two more
columns in each customer's table (charged now, change per renewal) with a total row, and
the renewal date of each PBX the plan touches.

A pipeline keeps one comment per pull request and updates it in place: the comment
starts with a hidden marker naming the repo directory planned (`<!-- reconciler-plan:DIR
-->`), which the pipeline finds it by, and ends with the commit it was planned from, the
run's link and how it is applied.

A comment has a size limit (GitHub: 65,536 characters). With `limit`, a longer rendering
keeps the summary and the sections of the customers that need attention, then as many of
the others as fit, and says how many were left out and where the full plan is.
"""

from __future__ import annotations

from reconciler.render.common import (DRIFT_TITLE, NO_CHANGES, SYMBOLS, by_customer, counts, customers_in, changes,
                                      charged_now, costs_line, costs_of, drift_lines, needs_attention, per_renewal,
                                      renewal_lines, status, summary_line, tally, unpriced, WHY_UNKNOWN)
from reconciler.render.escape import escaped, markdown

OPEN_UP_TO = 5  # customers: a plan this small has every section open
ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def size(text: str) -> int:
    """Characters as GitHub counts them against a comment's limit (UTF-16 units: an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


def marker(directory: str) -> str:
    """The hidden first line a pipeline finds its own comment by, one per repo directory planned."""
    return f"<!-- reconciler-plan:{directory.replace('--', '-&#45;').replace('>', '&gt;')} -->"  # cannot end early


def footer_lines(doc: dict, footer: dict) -> list[str]:
    """`---`, when the blocked steps get applied, then the commit it was planned from, the run's link, how to apply."""
    from reconciler.render.due import due_dates

    dates = due_dates(doc)
    due = ["🗓️ blocked steps are applied by the scheduled run on their date: " + ", ".join(
        f"{date} ({len(steps)} step{'s' if len(steps) != 1 else ''})" for date, steps in dates), ""] if dates else []
    parts = [f"planned from `{footer['commit'][:12]}`" if footer.get("commit") else "",
             f"[run]({footer['run_url']})" if footer.get("run_url") else "",
             f"[HTML report with the timeline]({footer['report_url']})" if footer.get("report_url") else "",
             footer.get("apply") or ""]
    return ["---", "", *due, " · ".join(part for part in parts if part)]


def render(doc: dict, color: bool = False, limit: int | None = None, directory: str | None = None,
           footer: dict | None = None) -> str:
    """The comment; with `directory`, its marker first, and with `footer`, the footer last (both within `limit`)."""
    top = marker(directory) + "\n" if directory is not None else ""
    bottom = "\n" + "\n".join(footer_lines(doc, footer)) + "\n" if footer else ""
    room = limit - size(top) - size(bottom) if limit is not None else None
    return top + _body(doc, room, limit) + bottom


def _body(doc: dict, limit: int | None, said: int | None = None) -> str:
    """The summary and the sections, within `limit`; `said`: the comment's limit the note names."""
    doc = escaped(doc, markdown)  # user data reads as itself: no markup, no mention, no hidden step
    steps = doc.get("steps", [])
    diagnostics = doc.get("diagnostics", [])
    customers = customers_in(doc)
    step_groups = by_customer(steps)
    notes = by_customer([d for d in diagnostics if d.get("customer")])
    costs = costs_of(doc)
    head = _summary(doc, customers, costs)
    general = [d for d in diagnostics if not d.get("customer")]
    head += [f"- {ICONS[d['severity']]} {_cell(d['message'])} `{d['rule']}`" for d in general]
    if general:
        head.append("")
    drifted = drift_lines(doc)
    if drifted:
        head += [f"**{DRIFT_TITLE}:**", "", *[f"- {_cell(line)}" for line in drifted], ""]
    sections = []
    for customer in customers:
        totals = costs["by_customer"].get(customer) if costs else None
        mine, remarks = step_groups.get(customer, []), notes.get(customer, [])
        attention = needs_attention(mine, remarks)
        text = "\n".join(_section(customer, mine, remarks, totals, opened=attention or len(customers) <= OPEN_UP_TO,
                                   by_status=counts(doc, customer)))
        sections.append((text, attention, len(mine)))
    text = _join(head, [section for section, _, _ in sections])
    if limit is None or size(text) <= limit:
        return text
    return _fit(head, sections, limit, said or limit)


def _summary(doc: dict, customers: list[str], costs: dict | None) -> list[str]:
    steps, summary = doc.get("steps", []), doc.get("summary") or {}
    lines = [f"## reconciler plan for {doc['today']} ({doc['timezone']})", ""]
    lines += [f"**{summary_line(doc) if steps else NO_CHANGES}**", ""]
    if customers:
        tally = counts(doc)
        lines += ["| customers | steps | ready | blocked | manual | errors | warnings |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                  f"| {len(customers)} | {len(steps)} | {tally['ready']} | {tally['blocked']} | {tally['manual']} | "
                  f"{summary.get('errors', 0)} | {summary.get('warnings', 0)} |", ""]
    if costs and steps:
        lines += [f"**{costs_line(costs, costs['currency'])}**", ""]
    return lines


def _join(head: list[str], sections: list[str]) -> str:
    return "\n".join([*head, *sections]).rstrip() + "\n"


def _fit(head: list[str], sections: list[tuple[str, bool, int]], limit: int, said: int) -> str:
    """The summary, then the sections that fit: those needing attention first, the others with the room left."""
    worst = _left_out(len(sections), sum(n for _, _, n in sections), said)
    room = limit - size(_join(head, [])) - size(worst) - 2
    kept: set[int] = set()
    for wanted in (True, False):
        for index, (text, attention, _) in enumerate(sections):
            if attention is wanted and size(text) + 1 <= room:
                kept.add(index)
                room -= size(text) + 1
    dropped = [sections[i] for i in range(len(sections)) if i not in kept]
    body = [sections[i][0] for i in sorted(kept)]
    text = _join(head, body + [_left_out(len(dropped), sum(n for _, _, n in dropped), said)])
    if size(text) > limit:  # only a summary longer than the limit itself gets here
        note = _left_out(len(sections), sum(n for _, _, n in sections), said)
        cut = text[: max(0, limit - size(note) - 4) // 2]  # halved: each kept character may count 2
        text = cut[: cut.rfind("\n") + 1] + "\n" + note + "\n"
    return text


def _left_out(customers: int, steps: int, limit: int) -> str:
    return (f"> ✂️ **{customers} customer{'s' if customers != 1 else ''} ({steps} step{'s' if steps != 1 else ''}) "
            f"left out** to keep this comment within {limit:,} characters: the customers with errors, warnings, "
            "blocked or manual steps come first. The full plan is in the JSON plan: the file of `plan --out` "
            "(in CI, the job's artifact), or `reconciler plan --format json`.")


def _section(customer: str, steps: list[dict], notes: list[dict], costs: dict | None = None,
             opened: bool = True, by_status: dict[str, int] | None = None) -> list[str]:
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
    head = f"<details{' open' if opened else ''}><summary><b>{customer}</b>: {tally(by_status or {}, notes)}</summary>"
    return [head, "",
            *body, "</details>", ""]


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


def render_failure(message: str, diagnostics: list[dict], limit: int | None = None,
                   directory: str | None = None) -> str:
    """The comment for a run that planned nothing (invalid desired state, a bad ref): why, with each place."""
    lines = ([marker(directory)] if directory is not None else []) + [
        "## reconciler plan: nothing was planned", "", f"**error: {markdown(message)}**", ""]
    for d in escaped(diagnostics, markdown):
        where = ":".join(str(d[key]) for key in ("file", "line", "column") if d.get(key) is not None)
        lines.append(f"- {ICONS[d['severity']]} {f'<code>{where}</code> ' if where else ''}{_cell(d['message'])} "
                     f"`{d['rule']}`")
    text = _join(lines, [])
    while limit is not None and size(text) > limit and len(lines) > 4 + (directory is not None):
        lines.pop()
        text = _join(lines, ["- … and more: see the job's log"])
    return text
