"""Costs of transfers and of manual steps (seed 003): what the fleet really costs, and what waits for a person.

Prices as in tests/test_pricing.py (WorkForce 6.00/1m, 60.00/1y). acme/acme and globex/globex are
CURRENT_PBX (1y, expires 2027-05-14) unless a row says otherwise; today is 2026-11-18, 177 of the
term's 365 days are left: one WorkForce added now is 60 x 177/365 = 29.0958... -> 29.10.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciler.render import RENDERERS
from tests.test_plan_support import (CURRENT_PBX, D, DESIRED_PBX, TODAY, Action, Policy, Status, customer_file, device,
                                     merged, one, plan, snapshot)
from tests.test_pricing import BOOK

ONE_1Y = {"1y": Decimal("60.00")}


def moved(devices: list[dict], wanted: int, giver: dict | None = None):
    """acme pins every device of globex and wants `wanted` WorkForce in all."""
    current = snapshot({"acme": {"acme": CURRENT_PBX},
                        "globex": {"globex": merged(CURRENT_PBX, devices=devices, **(giver or {}))}})
    pins = {d["serial"]: "hwaas" for d in devices}
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, hwaas={"WorkForce": wanted}, pinned=pins)})]
    return plan(desired, current, TODAY, Policy(), price_book=BOOK)


# --- the sender's renewal goes down by what the receiver's goes up --------------------------------

def test_moving_two_devices_and_ordering_one_costs_the_fleet_one_device():
    """Two WorkForce move from globex to acme, one more is ordered. The fleet grows by one device:
    +60.00/1y, not +180.00/1y: the transfer's own cost holds globex's renewal going down by 120.00."""
    result = moved([device("9C0009"), device("9C0010")], wanted=3)
    transfer, order = one(result, Action.TRANSFER_HWAAS), one(result, Action.ORDER_HWAAS)
    assert transfer.status is Status.READY
    # receiver: 2 x 60 x 177/365 = 58.19 now, +120.00/1y; sender: -120.00/1y, its credit note not included
    assert [(i.quantity, i.one_off, i.recurring, i.billed_to) for i in transfer.cost.items] == [
        (2, Decimal("58.19"), Decimal("120.00"), None), (-2, Decimal("0.00"), Decimal("-120.00"), "globex/globex")]
    assert (transfer.cost.one_off, transfer.cost.recurring) == (Decimal("58.19"), {"1y": Decimal("0.00")})
    assert transfer.cost.notes == ["credit-note"]  # a credit note, not "no refund"
    assert order.cost.recurring == ONE_1Y
    costs = result.summary.costs
    assert costs.recurring == ONE_1Y and costs.one_off == Decimal("87.29")  # 58.19 + 29.10
    assert costs.by_customer["acme"].recurring == ONE_1Y  # the steps are acme's: its rows add up to its total
    assert costs.by_customer["globex"].renewals["globex"].renews_on == D("2027-05-14")  # its renewal is touched
    document = result.model_dump(mode="json")
    assert "billed_to" not in document["steps"][1]["cost"]["items"][0]  # absent on the step's own invoice


def test_a_capex_device_was_on_no_invoice_where_it_comes_from():
    """Does not fire: a CAPEX device moved and converted lowers no renewal of its sender."""
    result = moved([device("9C0009", billing="capex")], wanted=1)
    transfer = one(result, Action.TRANSFER_HWAAS)
    assert [i.billed_to for i in transfer.cost.items] == [None]
    assert "globex" not in result.summary.costs.by_customer


# --- a manual step's charge is shown apart from what applies now ----------------------------------

@pytest.mark.parametrize(("devices", "giver", "recurring"), [
    # CAPEX on globex: a Customer Care ticket; acme's renewal +60.00/1y once it is done
    ([device("9C0009", billing="capex")], None, ONE_1Y),
    # the terms differ (globex monthly): a ticket; acme +60.00/1y, globex -6.00/1m
    ([device("9C0009")], {"term": "1m", "expires_on": "2026-12-10"}, {"1m": Decimal("-6.00"), "1y": Decimal("60.00")}),
])
def test_a_manual_transfer_is_priced_apart_from_what_applies_now(devices, giver, recurring):
    result = moved(devices, wanted=1, giver=giver)
    transfer = one(result, Action.TRANSFER_HWAAS)
    assert transfer.status is Status.MANUAL
    costs = result.summary.costs
    assert (costs.one_off, costs.recurring, costs.unpriced_steps) == (Decimal("0.00"), {}, [])
    assert costs.manual.steps == [transfer.id]
    assert (costs.manual.one_off, costs.manual.recurring) == (Decimal("29.10"), recurring)
    assert costs.by_customer["acme"].manual.one_off == Decimal("29.10")
    text = RENDERERS["text"](result.model_dump(mode="json"))
    assert (f"Costs (EUR): 0.00 charged now; no change at renewal; manual step {transfer.id} when done: 29.10 "
            "charged, ") in text


def test_ready_steps_only_no_manual_part():
    """Does not fire: with no manual step the totals have no `manual` part, and the document no key."""
    result = moved([device("9C0009")], wanted=1)
    assert result.summary.costs.manual is None
    assert "manual" not in result.model_dump(mode="json")["summary"]["costs"]


# --- the cost line of a change-term step names what it is for -------------------------------------

@pytest.mark.parametrize(("devices", "book", "said"), [
    # fires: 2 WorkForce follow the PBX from 1y to 5y: the step's charge is theirs
    ([device("9C0001"), device("9C0002")], BOOK, "term 1y -> 5y; priced: WorkForce x2 move from the 1y invoice "
                                                 "to the 5y one"),
    # no device: the step's charge is nothing of its own
    ([], BOOK, "term 1y -> 5y; priced: nothing of its own (the licenses are priced on the steps that remove and "
               "add them)"),
    # does not fire: no price book, no cost line
    ([device("9C0001"), device("9C0002")], None, "term 1y -> 5y"),
])
def test_the_cost_line_of_a_term_change_names_what_it_is_for(devices, book, said):
    current = snapshot({"acme": {"acme": merged(CURRENT_PBX, devices=devices)}})
    desired = [customer_file(pbxes={"acme": merged(DESIRED_PBX, term="5y", hwaas={"WorkForce": len(devices)})})]
    document = plan(desired, current, TODAY, Policy(), price_book=book).model_dump(mode="json")
    [row] = [line for line in RENDERERS["text"](document).splitlines() if "change-term" in line]
    assert row.endswith(f"  {said}"), row
