"""One portal operation per plan action, and the entry point that judges and runs a step.

Only ready steps reach the portal (apply never sends a blocked or manual one; the
sandbox refuses them if it is sent one anyway). A step whose `changes` are not the
form its action takes is refused, never a crash.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from reconciler.plan.model import Action, Status, Step
from reconciler.sandbox import accounts, devices
from reconciler.sandbox.portal import Portal, refuse

OPERATIONS = {
    Action.CREATE_CUSTOMER: accounts.create_customer,
    Action.PURCHASE_HARDWARE_PBX: accounts.purchase_hardware_pbx,
    Action.CREATE_PBX: accounts.create_pbx,
    Action.ADD_LICENSES: accounts.add_licenses,
    Action.REMOVE_LICENSES: accounts.remove_licenses,
    Action.CHANGE_TERM: accounts.change_term,
    Action.SET_OPTIONS: accounts.set_options,
    Action.ORDER_HWAAS: devices.order_hwaas,
    Action.CONVERT_TO_HWAAS: devices.convert_to_hwaas,
    Action.TRANSFER_HWAAS: devices.transfer_hwaas,
    Action.RETURN_HWAAS: devices.return_hwaas,
}


def execute(conn: sqlite3.Connection, today: dt.date, step: Step) -> None:
    """Judge and carry out `step` inside the caller's transaction; raises StepRefused."""
    if step.status is not Status.READY:
        raise refuse(step, "not-ready", f"the step is {step.status.value}: apply never sends it to the portal"
                     + (f" ({step.instruction})" if step.instruction else ""))
    try:
        OPERATIONS[step.action](Portal(conn, today), step)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise refuse(step, "schema", f"the step's changes are not a valid {step.action.value} form "
                     f"({type(exc).__name__}: {exc})") from None
