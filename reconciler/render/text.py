"""The text renderer: what a person reads in a terminal, Terraform-like.

Errors and warnings (the deletion dates among them) come first, then the steps in plan
order grouped by customer, one line each with a symbol per kind of action, then the
summary line. Colors only when the caller says the output is a terminal.
"""

from __future__ import annotations

from reconciler.render.common import NO_CHANGES, SYMBOLS, address, by_customer, changes, status, summary_line

COLORS = {"+": "32", "-": "31", "~": "33", ">": "36", "error": "1;31", "warning": "33", "blocked": "33",
          "manual": "35", "bold": "1"}


def render(doc: dict, color: bool = False) -> str:
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

    steps = doc.get("steps", [])
    if not steps:
        lines.append(NO_CHANGES)
        _infos(lines, diagnostics, None)
        return "\n".join(lines) + "\n"

    infos = by_customer([d for d in diagnostics if d["severity"] == "info"])
    width = max(len(step["action"]) for step in steps)
    place = max(len(address(step)) for step in steps)
    for customer, customer_steps in by_customer(steps).items():
        lines.append(paint(customer, "bold"))
        for step in customer_steps:
            symbol = SYMBOLS.get(step["action"], "?")
            line = (f"  {step['id']:>3} {paint(symbol, symbol)} {step['action']:<{width}}  "
                    f"{address(step):<{place}}  {changes(step)}")
            lines.append(line.rstrip())
            if step["status"] != "ready":
                why = ", ".join(step.get("rules", []))
                detail = status(step) + (f" [{why}]" if why else "")
                if step.get("instruction"):
                    detail += f": {step['instruction']}"
                lines.append(f"        {paint(detail, step['status'])}")
        for info in infos.pop(customer, []):
            lines.append(f"      i {info['message']} [{info['rule']}]")
        lines.append("")
    _infos(lines, [d for group in infos.values() for d in group], None)
    lines.append(paint(summary_line(steps), "bold"))
    return "\n".join(lines) + "\n"


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
