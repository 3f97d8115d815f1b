"""Operations on HWaaS devices: order, convert, transfer, return (seeds 000-003).

Rented devices exist only on subscription PBXs with licenses, cannot be ordered,
converted or transferred while the partner is overdue, move automatically only between
PBXs with the same term and expiry, and are kept at least 6 months unless under a
commitment (which Customer Care handles). Stock moves with them and may go negative.
"""

from __future__ import annotations

import datetime as dt

from reconciler.calendar import add_months
from reconciler.plan.model import Step
from reconciler.sandbox import store
from reconciler.sandbox.catalog import format_serial
from reconciler.sandbox.clock import MINIMUM_MONTHS, add_stock
from reconciler.sandbox.portal import Portal, refuse


def order_hwaas(portal: Portal, step: Step) -> None:
    pbx = portal.pbx(step)
    product, quantity = step.changes.product, step.changes.quantity
    if not isinstance(quantity, int) or quantity < 1:
        raise refuse(step, "schema", "an order is of at least one device")
    portal.check_subscription(step, pbx, "hwaas-needs-subscription", "HWaaS")
    portal.check_overdue(step)
    if not portal.conn.execute("SELECT 1 FROM catalog WHERE product = ?", (product,)).fetchone():
        raise refuse(step, "known-product", f"the portal does not sell {product!r}")
    expected = step.changes.expected
    if expected is not None:
        portal.check_expected(step, pbx, product, expected[product])
    for _ in range(quantity):
        serial = format_serial("device", store.next_serial(portal.conn, "device"))
        portal.conn.execute("INSERT INTO devices VALUES (?, ?, 'hwaas', ?, 0, ?, ?)",
                            (serial, product, portal.today.isoformat(), pbx["customer"], pbx["name"]))
    add_stock(portal.conn, product, -quantity)


def convert_to_hwaas(portal: Portal, step: Step) -> None:
    pbx = portal.pbx(step)
    devices = portal.devices(step, pbx, "capex")
    portal.check_subscription(step, pbx, "convert-preconditions", "a conversion to HWaaS")
    portal.check_overdue(step)
    portal.conn.executemany("UPDATE devices SET billing = 'hwaas', since = ? WHERE serial = ?",
                            [(portal.today.isoformat(), d["serial"]) for d in devices])


def transfer_hwaas(portal: Portal, step: Step) -> None:
    target = portal.pbx(step)
    customer, _, name = step.changes.source.partition("/")
    source = portal.pbx(step, customer, name)
    if (source["customer"], source["name"]) == (target["customer"], target["name"]):
        raise refuse(step, "schema", "a transfer goes to another PBX")
    devices = portal.devices(step, source, "hwaas")
    if target["term"] == "lifetime":
        raise refuse(step, "transfer-conditions", f"HWaaS cannot be transferred to {target['name']}: "
                                                  "its term is lifetime")
    if (source["term"], source["expires_on"]) != (target["term"], target["expires_on"]):
        raise refuse(step, "transfer-conditions",
                     f"automatic transfer needs the same term and expiry ({step.changes.source}: "
                     f"{source['term']} until {source['expires_on']}, {step.address}: {target['term']} until "
                     f"{target['expires_on']}): open a Customer Care ticket")
    portal.check_overdue(step)
    # seed 003: the subscription is kept 6 months from the transfer: the minimum term starts again
    portal.conn.executemany("UPDATE devices SET customer = ?, pbx = ?, since = ? WHERE serial = ?",
                            [(target["customer"], target["name"], portal.today.isoformat(), d["serial"])
                             for d in devices])


def return_hwaas(portal: Portal, step: Step) -> None:
    pbx = portal.pbx(step)
    devices = portal.devices(step, pbx, "hwaas")
    for device in devices:
        if device["commitment"]:
            raise refuse(step, "commitment-return-manual", f"device {device['serial']} is under a commitment: "
                         "submit a Customer Care case (HWaaS cancellation) to return it")
        until = add_months(dt.date.fromisoformat(device["since"]), MINIMUM_MONTHS) if device["since"] else None
        if until and until > portal.today:
            raise refuse(step, "hwaas-minimum-term", f"device {device['serial']} is kept at least "
                         f"{MINIMUM_MONTHS} months from {device['since']}: return it from {until}")
    portal.conn.executemany("DELETE FROM devices WHERE serial = ?", [(d["serial"],) for d in devices])
    for device in devices:
        add_stock(portal.conn, device["product"], 1)
