"""What the text and markdown renderers share: how a step's changes, place and status read."""

from __future__ import annotations

import json
from collections import defaultdict

from pydantic import ValidationError

from reconciler.plan.changes import ChangeTerm, Devices, changes_of

SYMBOLS = {
    "create-customer": "+",
    "purchase-hardware-pbx": "+",
    "create-pbx": "+",
    "add-licenses": "+",
    "order-hwaas": "+",
    "remove-licenses": "-",
    "return-hwaas": "-",
    "change-term": "~",
    "set-options": "~",
    "convert-to-hwaas": "~",
    "transfer-hwaas": ">",
}
NO_CHANGES = "No changes. The portal matches the desired state."


def address(step: dict) -> str:
    return f"{step['customer']}/{step['pbx']}" if step.get("pbx") else step["customer"]


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_value(item)}" for key, item in value.items() if item not in (None, 0, {}, []))
    return str(value)


def changes(step: dict) -> str:
    """`licenses.essential 30 -> 20, term 1m -> 1y`; a device step: `WorkForce x2 (9C75..., 9C76...)`."""
    try:
        typed = changes_of(step)
    except (ValidationError, ValueError, KeyError):  # a document never validated (a hand-edited file): as it is
        return _fields(step.get("changes") or {})
    if isinstance(typed, Devices):
        text = f"{typed.product} x{typed.quantity}"
        if getattr(typed, "serials", None):
            text += f" ({', '.join(typed.serials)})"
        # `expected` is the order's precondition for the portal, not a change a reviewer weighs
        extra = typed.model_dump(mode="json", exclude={"product", "quantity", "serials", "expected"})
        return text + (f", {_fields(extra)}" if extra else "")
    return "; ".join(filter(None, [_fields(typed.document()), priced_for(step, typed)]))


def _fields(data: dict) -> str:
    """`licenses.essential 30 -> 20, term 1m -> 1y`: each field, a pair as before -> after."""
    parts = []
    for field, value in data.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{field} {_value(value[0])} -> {_value(value[1])}")
        else:
            parts.append(f"{field}: {_value(value)}")
    return ", ".join(parts)


def priced_for(step: dict, typed) -> str:
    """What a priced term change's charge is for: `priced: WorkForce x2 move from the 1m invoice to the 1y one`.

    The licenses of a term change are priced on the steps that remove and add them; the change-term
    step's own charge is the HWaaS devices that follow the PBX to its new term."""
    cost = step.get("cost")
    if not isinstance(typed, ChangeTerm) or not cost:
        return ""
    moving = [f"{item['product']} x{item['quantity']}" for item in cost.get("items") or [] if item["quantity"] > 0]
    if not moving:
        return "priced: nothing of its own (the licenses are priced on the steps that remove and add them)"
    before, after = typed.term
    return f"priced: {', '.join(moving)} move from the {before} invoice to the {after} one"


def status(step: dict) -> str:
    if step["status"] == "blocked":
        return f"blocked until {step['not_before']}" if step.get("not_before") else "blocked, no date yet"
    if step["status"] == "manual":
        return "manual"
    return "ready"


def by_customer(items: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        grouped[item.get("customer") or ""].append(item)
    return grouped


STATUSES = ("ready", "blocked", "manual")


def counts(doc: dict, customer: str | None = None) -> dict[str, int]:
    """Steps by status as the document's summary counts them: the whole plan's, or one customer's."""
    summary = doc.get("summary") or {}
    source = summary if customer is None else (summary.get("by_customer") or {}).get(customer) or {}
    return {state: source.get(state, 0) for state in STATUSES}


def summary_line(doc: dict) -> str:
    """`Plan: 3 ready, 1 blocked until 2026-12-01, 0 manual.`: the summary's counts and earliest date."""
    tally, earliest = counts(doc), (doc.get("summary") or {}).get("earliest_not_before")
    blocked = f"{tally['blocked']} blocked"
    if earliest:
        later = any(s["status"] == "blocked" and s.get("not_before") not in (None, earliest)
                    for s in doc.get("steps", []))
        blocked += f" until {earliest}" + (" or later" if later else "")
    return f"Plan: {tally['ready']} ready, {blocked}, {tally['manual']} manual."


def customers_in(doc: dict) -> list[str]:
    names = {step["customer"] for step in doc.get("steps", [])}
    names |= {d["customer"] for d in doc.get("diagnostics", []) if d.get("customer")}
    return sorted(names)


def needs_attention(steps: list[dict], notes: list[dict]) -> bool:
    """Errors, warnings, blocked or manual steps: what a reviewer must look at first."""
    return (any(step["status"] != "ready" for step in steps)
            or any(d["severity"] in ("error", "warning") for d in notes))


def tally(by_status: dict[str, int], notes: list[dict]) -> str:
    """`4 steps (2 ready, 1 blocked, 1 manual), 1 warning`, from a customer's `counts` and its diagnostics."""
    steps = sum(by_status.values())
    text = f"{steps} step{'s' if steps != 1 else ''}"
    parts = [f"{n} {state}" for state, n in by_status.items() if n]
    if parts and parts != [f"{steps} ready"]:
        text += f" ({', '.join(parts)})"
    for severity in ("error", "warning"):
        n = sum(d["severity"] == severity for d in notes)
        if n:
            text += f", {n} {severity}{'s' if n != 1 else ''}"
    return text


# Costs (present only when the plan was priced: `summary.costs`). Amounts are the document's decimal
# strings, printed as they are: the renderers never round or add up anything themselves.
TERM_ORDER = ("1m", "1y", "5y")
UNKNOWN = "?"
WHY_UNKNOWN = ("no-date", "no-expiry", "no-price", "not-priced")  # the cost notes that leave an amount unknown


def costs_of(doc: dict) -> dict | None:
    return (doc.get("summary") or {}).get("costs")


def signed(amount: str) -> str:
    """`+120.00` for an increase, `-40.00` for a decrease, `0.00` for no change."""
    return amount if amount.startswith("-") or not amount.strip("0.") else "+" + amount


def per_renewal(recurring: dict | None, per: str = "/") -> str:
    """`-5.00/1m +50.00/1y`; empty when nothing renews; `?` when not known."""
    if recurring is None:
        return UNKNOWN
    terms = sorted(recurring, key=lambda t: (TERM_ORDER.index(t) if t in TERM_ORDER else len(TERM_ORDER), t))
    return " ".join(f"{signed(recurring[term])}{per}{term}" for term in terms)


def charged_now(cost: dict | None) -> str:
    if cost is None or cost.get("one_off") is None:
        return UNKNOWN
    return cost["one_off"]


def costs_line(totals: dict, currency: str) -> str:
    """`Costs (EUR): 2977.84 charged now; per renewal -39.00/1m, +840.00/1y; steps 4, 7 not fully priced.`"""
    renewal = per_renewal(totals.get("recurring") or {}).replace(" ", ", ")
    text = f"Costs ({currency}): {totals['one_off']} charged now"
    text += f"; per renewal {renewal}" if renewal else "; no change at renewal"
    if unpriced(totals):
        text += "; " + unpriced(totals)
    return text + "."


def _steps(ids: list[int]) -> str:
    return f"step{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"


def unpriced(totals: dict) -> str:
    """`steps 4, 7 not fully priced` (what is unknown of them is left out of the totals), and the manual steps'
    charge apart: `manual step 3 when done: 29.10 charged, +60.00/1y`; or empty."""
    parts = [f"{_steps(ids)} not fully priced"] if (ids := totals.get("unpriced_steps")) else []
    if manual := totals.get("manual"):
        charged = manual["one_off"] if manual.get("one_off") is not None else UNKNOWN
        renewal = per_renewal(manual.get("recurring"))
        parts.append(f"manual {_steps(manual['steps'])} when done: {charged} charged"
                     + (f", {renewal}" if renewal else ""))
    return "; ".join(parts)


def renewal_lines(customer_costs: dict) -> list[str]:
    """`acme renews on 2021-05-14 (1y)`, one per PBX the plan touches, with the renewal-window warning."""
    lines = []
    for name, renewal in sorted((customer_costs.get("renewals") or {}).items()):
        if renewal.get("renews_on"):
            text = f"{name} renews on {renewal['renews_on']} ({renewal['term']})"
        elif renewal["term"] == "lifetime":
            text = f"{name} does not renew (lifetime)"
        else:
            text = f"{name}: renewal date not known yet ({renewal['term']})"
        if renewal.get("renewal_window"):
            text += ": the plan's changes fall within its renewal window [renewal-window]"
        lines.append(text)
    return lines


DRIFT_TITLE = "Changed in the portal outside reconciler since the last apply"


def drift_lines(doc: dict) -> list[str]:
    """One line per drifted field ("acme: pbxes.acme.licenses.basic: 5 -> 7"); none when the plan has no drift."""
    def shown(value) -> str:
        return json.dumps(value) if isinstance(value, (dict, list)) or value is None else str(value)

    return [f"{d['customer']}: {d['field']}: {shown(d['last'])} -> {shown(d['now'])}" for d in doc.get("drift", [])]
