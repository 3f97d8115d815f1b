"""The portal's view of its own state while it judges a step: lookups, shared checks, refusals.

The operations (reconciler.sandbox.accounts, reconciler.sandbox.devices) are written
against this one object, so that every refusal reads the same way ("the portal refused
ACTION on ADDRESS: REASON [rule-id]") and every lookup that fails refuses the step
instead of crashing. It runs inside the caller's transaction and never commits.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.domain import PROFILES
from pydantic import ValidationError

from reconciler.plan.model import Action, Step, parse_step
from reconciler.providers import StepRefused
from reconciler.sandbox.clock import OVERDUE_GRACE_DAYS


def refuse(step: Step, rule: str, reason: str) -> StepRefused:
    message = f"the portal refused {step.action.value} on {step.address}: {reason} [{rule}]"
    where = {"customer": step.customer, "pbx": step.pbx}
    return StepRefused(message, [Diagnostic(Severity.ERROR, rule, message, **where)])


def received(data) -> Step:
    """A step document as it comes in (the portal's API), through the plan's own step models: one they refuse
    is refused as `schema`, naming the field, before anything runs."""
    try:
        return parse_step(data)
    except ValidationError as exc:
        raw = data if isinstance(data, dict) else {}
        action, customer, pbx = (str(raw.get(key) or "?") for key in ("action", "customer", "pbx"))
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != action) or 'step'}: {e['msg']}"
                             for e in exc.errors())
        address = f"{customer}/{pbx}" if raw.get("pbx") else customer
        message = f"the portal refused {action} on {address}: the step is not a valid {action} step ({problems}) [schema]"
        where = {key: raw.get(key) if isinstance(raw.get(key), str) else None for key in ("customer", "pbx")}
        raise StepRefused(message, [Diagnostic(Severity.ERROR, "schema", message, **where)]) from None


class Portal:
    """The portal on `today`, inside one transaction of `conn`."""

    def __init__(self, conn: sqlite3.Connection, today: dt.date):
        self.conn, self.today = conn, today

    def customer(self, step: Step) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM customers WHERE id = ?", (step.customer,)).fetchone()
        if row is None:
            raise refuse(step, "customer-before-pbx", f"there is no customer {step.customer} in the portal")
        return row

    def pbx(self, step: Step, customer: str | None = None, name: str | None = None) -> sqlite3.Row:
        customer, name = customer or step.customer, name or step.pbx
        row = self.conn.execute("SELECT * FROM pbxes WHERE customer = ? AND name = ?", (customer, name)).fetchone()
        if row is None:
            raise refuse(step, "stale-plan", f"there is no PBX {customer}/{name} in the portal")
        return row

    def devices(self, step: Step, pbx: sqlite3.Row, billing: str) -> list[sqlite3.Row]:
        """The step's serials, each of which must be a `billing` device of `pbx` and of the step's product."""
        serials = step.changes.serials
        if not serials or len(serials) != step.changes.quantity:
            raise refuse(step, "schema", "the step must name its devices, as many as its quantity")
        found = []
        for serial in serials:
            row = self.conn.execute("SELECT * FROM devices WHERE serial = ? AND customer = ? AND pbx = ?",
                                    (serial, pbx["customer"], pbx["name"])).fetchone()
            where = f"{pbx['customer']}/{pbx['name']}"
            if row is not None and row["billing"] == "capex" and step.action is Action.TRANSFER_HWAAS:
                raise refuse(step, "transfer-conditions", f"device {serial} is CAPEX on {where}: moving and "
                             "converting it goes through a Customer Care ticket")
            if row is None or row["billing"] != billing:
                label = "an HWaaS" if billing == "hwaas" else "a CAPEX"
                raise refuse(step, "stale-plan", f"device {serial} is not {label} device on {where}")
            if row["product"] != step.changes.product:
                raise refuse(step, "stale-plan", f"device {serial} is a {row['product']}, "
                                                 f"not a {step.changes.product}")
            found.append(row)
        return found

    @staticmethod
    def licensed(pbx: sqlite3.Row) -> int:
        return sum(pbx[profile] for profile in PROFILES)

    def other_licensed_pbx(self, customer: str, name: str) -> str | None:
        row = self.conn.execute(f"SELECT name FROM pbxes WHERE customer = ? AND name != ? AND "
                                f"{' + '.join(PROFILES)} > 0 ORDER BY name", (customer, name)).fetchone()
        return row["name"] if row else None

    def check_overdue(self, step: Step) -> None:
        since = self.conn.execute("SELECT overdue_since FROM partner").fetchone()[0]
        if since is not None and (self.today - dt.date.fromisoformat(since)).days > OVERDUE_GRACE_DAYS:
            raise refuse(step, "overdue-blocks-hardware",
                         f"the partner has invoices overdue since {since} (more than {OVERDUE_GRACE_DAYS} days): "
                         "no hardware can be ordered, converted or transferred until they are paid")

    def check_subscription(self, step: Step, pbx: sqlite3.Row, rule: str, what: str) -> None:
        if pbx["term"] == "lifetime":
            raise refuse(step, rule, f"{what} is only for subscription PBXs, and {pbx['name']} has a lifetime term")
        if self.licensed(pbx) == 0:
            raise refuse(step, rule, f"{what} needs a subscription, and {pbx['name']} has no licenses")

    def check_expected(self, step: Step, pbx: sqlite3.Row, product: str, expected: int) -> None:
        """An order's precondition: the PBX holds the HWaaS count of `product` the plan expects."""
        if not isinstance(expected, int) or isinstance(expected, bool):
            raise refuse(step, "schema", f"expected.{product} must be a count of devices")
        held = self.conn.execute("SELECT COUNT(*) FROM devices WHERE customer = ? AND pbx = ? AND product = ? "
                                 "AND billing = 'hwaas'", (pbx["customer"], pbx["name"], product)).fetchone()[0]
        if held != expected:
            raise refuse(step, "stale-plan", f"{pbx['name']} holds {held} HWaaS {product}, not {expected} as the "
                         "plan expects (another plan was carried out since): nothing was ordered, plan again")

    def update(self, pbx: sqlite3.Row, **values) -> None:
        columns = ", ".join(f"{column} = ?" for column in values)
        self.conn.execute(f"UPDATE pbxes SET {columns} WHERE customer = ? AND name = ?",
                          [*values.values(), pbx["customer"], pbx["name"]])
