"""Costs in the plan: proration to the PBX's expiry, each action's cost, the totals, and the cost example.

Every expected figure is computed by hand in a comment beside it. Prices (made up, EUR):

    term       PBX-BASIC  UC-ESSENTIAL  UC-BUSINESS  UC-PREMIUM  WorkForce  MonoLED
    1m              2.00          5.00         8.00       11.00       6.00     2.50
    1y             20.00         50.00        80.00      110.00      60.00    25.00
    5y             90.00        225.00       360.00      495.00     270.00   110.00
    lifetime      120.00        300.00       480.00      660.00          -        -
    WPBX-HW once 650.00; PBX-SERVICE 0.00 (free)

Rounding: each item (one product on one step) is rounded half-even to the cent once;
step amounts and totals are sums of rounded items.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest

from reconciler.cli import main
from reconciler.plan.model import Plan, Step, new_step
from reconciler.pricing.book import parse_price_book
from reconciler.pricing.costs import price_plan
from reconciler.pricing.proration import money, remaining
from reconciler.workflow import PlanRequest, make_plan
from tests.conftest import EXAMPLES
from tests.test_plan_support import (CURRENT_PBX, DESIRED_PBX, TODAY, Action, Policy, Status, customer_file, device,
                                     merged, one, plan, snapshot)

D = dt.date.fromisoformat
COSTS = EXAMPLES / "costs"
BOOK, _ = parse_price_book((COSTS / "pricebook.csv").read_text(encoding="utf-8"), "pricebook.csv")


def priced(current: dict | None = None, desired: dict | None = None, today: dt.date = TODAY, book=BOOK, **extra):
    """Plan acme/acme (CURRENT_PBX: 1y, expires 2027-05-14; basic 10, essential 30, premium 5) with the book."""
    return plan([customer_file(pbxes={"acme": merged(DESIRED_PBX, **(desired or {}))})],
                snapshot({"acme": {"acme": merged(CURRENT_PBX, **(current or {}))}}, **extra),
                today, Policy(deletions="allow"), price_book=book)


def figures(cost) -> tuple:
    return cost.one_off, cost.recurring


def steps_of(action: Action, changes: dict, status: Status = Status.READY, not_before=None) -> list[Step]:
    """One hand-made step on acme/acme, for price_plan alone."""
    return [new_step(action, id=1, customer="acme", pbx="acme", changes=changes, status=status,
                     not_before=not_before)]


# --- proration ------------------------------------------------------------------------------------

def test_the_seeds_worked_example():
    """Seed 000: a yearly PBX activated 2020-05-14 expires 2021-05-14; a service added 2020-08-14 is charged
    August 2020 to May 2021: 17 days of August + 30 + 31 + 30 + 31 + 31 + 28 + 31 + 30 + 14 = 273 days,
    out of the 365 days from 2020-05-14 to 2021-05-14 (no 29 February in them)."""
    span = remaining(D("2020-08-14"), D("2021-05-14"), "1y")
    assert (span.start, span.end, span.days, span.term_days) == (D("2020-08-14"), D("2021-05-14"), 273, 365)
    assert money(span.prorate(Decimal("50.00"))) == Decimal("37.40")  # 50 x 273/365 = 37.3972...


@pytest.mark.parametrize(("day", "expires", "term", "days", "term_days"), [
    # 1m: 2026-11-10 to 2026-12-10 is 30 days (November); from 2026-11-22: 8 + 10 = 18
    ("2026-11-22", "2026-12-10", "1m", 18, 30),
    # 1y: 2026-05-14 to 2027-05-14 is 365 days; from 2026-11-18: 12 + 31 + 31 + 28 + 31 + 30 + 14 = 177
    ("2026-11-18", "2027-05-14", "1y", 177, 365),
    # 5y: 2025-05-14 to 2030-05-14 is 5 x 365 + 1 (2028-02-29) = 1826 days;
    # from 2026-11-18: 3 years to 2029-11-18 (1095 + 1 for 2028-02-29) + 177 = 1273
    ("2026-11-18", "2030-05-14", "5y", 1273, 1826),
    # a leap year inside the period: 2027-05-14 to 2028-05-14 holds 2028-02-29: 366 days;
    # from 2027-11-18: 12 + 31 + 31 + 29 + 31 + 30 + 14 = 178
    ("2027-11-18", "2028-05-14", "1y", 178, 366),
    # on the renewal day itself: nothing left to charge now, the renewal invoices it
    ("2027-05-14", "2027-05-14", "1y", 0, 365),
    # after expires_on (the portal renewed it meanwhile): to the next renewal, 2028-05-14
    ("2027-05-20", "2027-05-14", "1y", 360, 366),
])
def test_days_charged_for_1m_1y_5y_and_leap_years(day, expires, term, days, term_days):
    span = remaining(D(day), D(expires), term)
    assert (span.days, span.term_days) == (days, term_days)


def test_money_rounds_half_even_to_the_cent_and_never_prints_minus_zero():
    assert money(Decimal("2.345")) == Decimal("2.34") and money(Decimal("2.355")) == Decimal("2.36")
    assert str(money(Decimal("-0.001"))) == "0.00"


# --- each action ----------------------------------------------------------------------------------

def test_add_licenses_in_1y_is_prorated_to_the_expiry():
    # 2026-11-18 to 2027-05-14: 177 of 365 days; essential +2: 2 x 50 x 177/365 = 48.4931... -> 48.49
    step = one(priced(desired={"licenses": {"basic": 10, "essential": 32, "premium": 5}}), Action.ADD_LICENSES)
    assert figures(step.cost) == (Decimal("48.49"), {"1y": Decimal("100.00")})
    assert (step.cost.period.start, step.cost.period.end, step.cost.period.days, step.cost.period.term_days) == (
        TODAY, D("2027-05-14"), 177, 365)
    assert step.cost.currency == "EUR" and step.cost.notes == []


def test_1m_and_5y_terms():
    # 1m, expiring 2026-12-10: 2026-11-18 to 2026-12-10 is 22 of 30 days; essential +2: 10 x 22/30 = 7.333 -> 7.33
    monthly = priced(current={"term": "1m", "expires_on": "2026-12-10"},
                     desired={"term": "1m", "licenses": {"basic": 10, "essential": 32, "premium": 5}})
    assert figures(one(monthly, Action.ADD_LICENSES).cost) == (Decimal("7.33"), {"1m": Decimal("10.00")})
    # 5y, expiring 2030-05-14: 1273 of 1826 days; essential +2: 450 x 1273/1826 = 313.7185... -> 313.72
    five = priced(current={"term": "5y", "expires_on": "2030-05-14"},
                  desired={"term": "5y", "licenses": {"basic": 10, "essential": 32, "premium": 5}})
    assert figures(one(five, Action.ADD_LICENSES).cost) == (Decimal("313.72"), {"5y": Decimal("450.00")})


def test_a_leap_day_inside_the_period():
    # expires 2028-05-14: the term from 2027-05-14 has 366 days; planned 2027-11-18: 178 left;
    # essential +2: 100 x 178/366 = 48.6338... -> 48.63
    step = one(priced(current={"expires_on": "2028-05-14"}, today=D("2027-11-18"),
                      desired={"licenses": {"basic": 10, "essential": 32, "premium": 5}}), Action.ADD_LICENSES)
    assert figures(step.cost) == (Decimal("48.63"), {"1y": Decimal("100.00")})
    assert (step.cost.period.days, step.cost.period.term_days) == (178, 366)


def test_a_removal_returns_no_money_and_lowers_the_renewal():
    # basic 10 -> 7: nothing now; the renewal invoice drops by 3 x 20 = 60.00
    step = one(priced(desired={"licenses": {"basic": 7, "essential": 30, "premium": 5}}), Action.REMOVE_LICENSES)
    assert figures(step.cost) == (Decimal("0.00"), {"1y": Decimal("-60.00")})
    assert step.cost.notes == ["no-refund"]
    assert step.cost.items[0].quantity == -3


def test_pbx_service_is_free():
    step = one(priced(desired={"licenses": {"basic": 10, "essential": 30, "premium": 5, "service": 4}}),
               Action.ADD_LICENSES)
    assert figures(step.cost) == (Decimal("0.00"), {"1y": Decimal("0.00")})
    assert step.cost.notes == ["free"]


def test_a_step_blocked_until_next_month_is_priced_from_its_not_before():
    """Judged on 2026-11-30 but blocked until 2026-12-01: priced from the 1st, not from today."""
    current = snapshot({"acme": {"acme": CURRENT_PBX}})
    blocked = steps_of(Action.ADD_LICENSES, {"licenses.essential": [30, 32]}, Status.BLOCKED, D("2026-12-01"))
    cost = price_plan(blocked, current, D("2026-11-30"), BOOK).steps[0].cost
    # 2026-12-01 to 2027-05-14: 31 + 31 + 28 + 31 + 30 + 13 = 164 of 365 days: 100 x 164/365 = 44.9315 -> 44.93
    # (from 2026-11-30 it would be 165 days: 45.21)
    assert figures(cost) == (Decimal("44.93"), {"1y": Decimal("100.00")})
    assert cost.period.start == D("2026-12-01") and cost.period.days == 164


def test_a_term_change_blocked_on_the_last_day_is_priced_from_the_1st():
    """1y -> 1m on 2026-11-30: the whole chain waits until 2026-12-01; the licenses added back are charged a
    whole month from then: 2026-12-01 to 2027-01-01 (31 of 31 days): 10 x 2 + 30 x 5 + 5 x 11 = 225.00."""
    result = priced(desired={"term": "1m"}, today=D("2026-11-30"))
    remove, change, add = (one(result, a) for a in (Action.REMOVE_LICENSES, Action.CHANGE_TERM, Action.ADD_LICENSES))
    assert all(s.status is Status.BLOCKED and s.not_before == D("2026-12-01") for s in (remove, change, add))
    # the removal leaves the yearly invoice: -(10 x 20 + 30 x 50 + 5 x 110) = -2250.00, nothing back
    assert figures(remove.cost) == (Decimal("0.00"), {"1y": Decimal("-2250.00")})
    assert figures(change.cost) == (Decimal("0.00"), {})  # no HWaaS device on the PBX
    assert figures(add.cost) == (Decimal("225.00"), {"1m": Decimal("225.00")})
    assert (add.cost.period.start, add.cost.period.end, add.cost.period.days) == (D("2026-12-01"), D("2027-01-01"), 31)


def test_a_term_change_bills_the_staying_hwaas_devices_on_the_new_term():
    """1y -> 5y with 2 WorkForce rented: they leave the yearly invoice (-120.00, no refund) and are billed a
    whole 5-year term from D: 2 x 270 = 540.00 now and at each 5-year renewal."""
    devices = [device("9C0001"), device("9C0002")]
    result = priced(current={"devices": devices}, desired={"term": "5y", "hwaas": {"WorkForce": 2}})
    change = one(result, Action.CHANGE_TERM)
    assert figures(change.cost) == (Decimal("540.00"), {"1y": Decimal("-120.00"), "5y": Decimal("540.00")})
    assert change.cost.notes == ["no-refund", "hwaas-follows-pbx-term"]
    assert change.cost.period.end == D("2031-11-18")  # 5 years from 2026-11-18


def test_new_hardware_pbx_whole_first_term_and_the_appliance_once():
    hq = {"model": "hardware", "term": "5y", "licenses": {"basic": 5, "business": 3}}
    desired = [customer_file(pbxes={"acme": DESIRED_PBX, "hq": hq})]
    result = plan(desired, snapshot(), TODAY, Policy(), price_book=BOOK)
    purchase, create = one(result, Action.PURCHASE_HARDWARE_PBX), one(result, Action.CREATE_PBX)
    assert figures(purchase.cost) == (Decimal("650.00"), {})
    assert purchase.cost.period is None and purchase.cost.items[0].term == "once"
    # 2026-11-18 to 2031-11-18 (1826 days, with 2028-02-29), in full: 5 x 90 + 3 x 360 = 1530.00
    assert figures(create.cost) == (Decimal("1530.00"), {"5y": Decimal("1530.00")})
    assert (create.cost.period.days, create.cost.period.term_days) == (1826, 1826)
    renewal = result.summary.costs.by_customer["acme"].renewals["hq"]
    assert (renewal.term, renewal.renews_on) == ("5y", D("2031-11-18"))


def test_lifetime_is_paid_once_and_never_renews():
    # a virtual lifetime PBX: essential +2 at 300 each: 600.00 now, nothing at renewal
    lifetime = {"model": "virtual", "region": None, "term": "lifetime", "storage_gb": None, "static_ip": None,
                "ssh": None}
    result = priced(current={**lifetime, "expires_on": None},
                    desired={**lifetime, "licenses": {"basic": 10, "essential": 32, "premium": 5}})
    step = one(result, Action.ADD_LICENSES)
    assert figures(step.cost) == (Decimal("600.00"), {})
    assert step.cost.items[0].recurring is None and step.cost.period.end is None
    assert result.summary.costs.by_customer["acme"].renewals["acme"].renews_on is None


def test_hwaas_order_prorated_return_no_refund():
    # order 2 WorkForce: 120 x 177/365 = 58.1917... -> 58.19; return 1 MonoLED: -25.00 per year, nothing back
    current = {"devices": [device("9C0003", product="MonoLED", since="2025-01-01")]}
    result = priced(current=current, desired={"hwaas": {"WorkForce": 2}})
    assert figures(one(result, Action.ORDER_HWAAS).cost) == (Decimal("58.19"), {"1y": Decimal("120.00")})
    returned = one(result, Action.RETURN_HWAAS)
    assert figures(returned.cost) == (Decimal("0.00"), {"1y": Decimal("-25.00")})
    assert returned.cost.notes == ["no-refund"]


def test_blocked_with_no_date_cannot_be_priced_yet():
    result = priced(desired={"hwaas": {"WorkForce": 2}}, partner={"overdue_since": "2026-11-01"})
    order = one(result, Action.ORDER_HWAAS)
    assert order.status is Status.BLOCKED and order.not_before is None
    assert figures(order.cost) == (None, {"1y": Decimal("120.00")})  # the renewal change is known, not D
    assert order.cost.notes == ["no-date"] and order.cost.period is None
    assert result.summary.costs.unpriced_steps == [order.id]


def test_a_price_missing_from_the_book_is_a_warning_and_no_figures():
    book, _ = parse_price_book("product,category,term,price,currency\nUC-ESSENTIAL,licenses,1m,5.00,EUR\n", "b.csv")
    result = priced(desired={"licenses": {"basic": 10, "essential": 32, "premium": 5}}, book=book)
    step = one(result, Action.ADD_LICENSES)
    assert figures(step.cost) == (None, None) and step.cost.notes == ["no-price"]
    assert [(d.severity, d.message) for d in result.diagnostics if d.rule == "price-book"] == [
        ("warning", "no price for UC-ESSENTIAL (1y) in the price book: step 1 (add-licenses) is not priced")]


def test_options_are_not_in_the_price_book():
    step = one(priced(desired={"storage_gb": 80}), Action.SET_OPTIONS)
    assert figures(step.cost) == (None, None) and step.cost.notes == ["not-priced"]


def test_totals_per_customer_and_plan_per_term_and_the_json_form():
    result = priced(desired={"licenses": {"basic": 7, "essential": 32, "premium": 5}, "hwaas": {"WorkForce": 2}})
    costs = result.summary.costs
    # now: essential +2 (48.49) + WorkForce x2 (58.19) = 106.68; per 1y: +100.00 - 60.00 + 120.00 = +160.00
    assert (costs.one_off, costs.recurring, costs.currency) == (Decimal("106.68"), {"1y": Decimal("160.00")}, "EUR")
    assert costs.by_customer["acme"].one_off == Decimal("106.68")
    assert costs.by_customer["acme"].renewals["acme"].renews_on == D("2027-05-14")
    doc = result.model_dump(mode="json")
    assert doc["summary"]["costs"]["one_off"] == "106.68"  # amounts are decimal strings, never floats
    assert doc["steps"][0]["cost"]["items"][0]["unit_price"] == "50.00"
    assert Plan.model_validate(json.loads(json.dumps(doc))) == result  # the saved plan reads back


# --- no price book: nothing changes ---------------------------------------------------------------

def test_no_price_book_no_cost_lines_and_nothing_else_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(COSTS, "repo")
    with_book = make_plan(PlanRequest(paths=["repo"])).document
    config = tmp_path / "repo" / "reconciler.yaml"
    config.write_text(config.read_text().replace("price_book:", "# price_book:"))
    without = make_plan(PlanRequest(paths=["repo"])).document
    assert all(step["cost"] is None for step in without["steps"])
    assert "costs" not in without["summary"]
    # the same plan, less the cost lines (the fingerprint of the desired files covers reconciler.yaml)
    assert [{**s, "cost": None} for s in with_book["steps"]] == without["steps"]
    assert {k: v for k, v in with_book["summary"].items() if k != "costs"} == without["summary"]
    assert with_book["diagnostics"] == without["diagnostics"]
    assert with_book["fingerprints"]["current"] == without["fingerprints"]["current"]


# --- the cost example, end to end ---------------------------------------------------------------

def test_the_cost_example_end_to_end(capsys, monkeypatch):
    """examples/costs, planned on 2020-08-14 (the seed's date), through the CLI.

    acme, 1y, expires 2021-05-14: 273 of 365 days (the seed's example)
      1 add essential +2: 100 x 273/365 = 74.79 (74.794...), premium +1: 110 x 273/365 = 82.27 (82.273...),
        service +1: free                                                   now 157.06, +210.00/1y
      2 remove basic -2: no refund                                         now   0.00,  -40.00/1y
      3 order 2 WorkForce: 120 x 273/365 = 89.75 (89.753...)               now  89.75, +120.00/1y
                                                                   acme: now 246.81, +290.00/1y
    globex, 1m (expires 2020-09-03) -> 1y: from 2020-08-14, a whole year to 2021-08-14
      4 remove essential -10 (x 5), service -1: no refund                  now   0.00,  -50.00/1m
      5 change-term: 2 MonoLED leave the monthly invoice (-2 x 2.50) and are billed a year (2 x 25)
                                                                           now  50.00,   -5.00/1m +50.00/1y
      6 add essential +10 (x 50), service +1                               now 500.00, +500.00/1y
                                                                 globex: now 550.00, -55.00/1m +550.00/1y
    initech, new: create-customer 0.00; WPBX-HW once 650.00; create-pbx 5y in full
      (2020-08-14 to 2025-08-14): 5 x 90 + 3 x 360 = 1530.00             initech: now 2180.00, +1530.00/5y
    umbrella, 1m, renews 2020-08-16 (2 days of the 31 from 2020-07-16): business +2: 16 x 2/31 = 1.03 (1.0322...)
                                                                umbrella: now 1.03, +16.00/1m
    plan: now 246.81 + 550.00 + 2180.00 + 1.03 = 2977.84;
          per renewal 1m: -55.00 + 16.00 = -39.00; 1y: 290.00 + 550.00 = +840.00; 5y: +1530.00
    """
    monkeypatch.chdir(COSTS.parent.parent)
    monkeypatch.delenv("RECONCILER_TODAY", raising=False)
    assert main(["plan", "examples/costs", "--today", "2020-08-14", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = {s["id"]: (s["cost"]["one_off"], s["cost"]["recurring"]) for s in doc["steps"]}
    assert by_id == {
        1: ("157.06", {"1y": "210.00"}), 2: ("0.00", {"1y": "-40.00"}), 3: ("89.75", {"1y": "120.00"}),
        4: ("0.00", {"1m": "-50.00"}), 5: ("50.00", {"1m": "-5.00", "1y": "50.00"}), 6: ("500.00", {"1y": "500.00"}),
        7: ("0.00", {}), 8: ("650.00", {}), 9: ("1530.00", {"5y": "1530.00"}), 10: ("1.03", {"1m": "16.00"}),
    }
    items = [(i["product"], i["one_off"]) for i in doc["steps"][0]["cost"]["items"]]
    assert items == [("UC-ESSENTIAL", "74.79"), ("UC-PREMIUM", "82.27"), ("PBX-SERVICE", "0.00")]
    costs = doc["summary"]["costs"]
    totals = {name: (c["one_off"], c["recurring"]) for name, c in costs["by_customer"].items()}
    assert totals == {"acme": ("246.81", {"1y": "290.00"}), "globex": ("550.00", {"1m": "-55.00", "1y": "550.00"}),
                      "initech": ("2180.00", {"5y": "1530.00"}), "umbrella": ("1.03", {"1m": "16.00"})}
    assert (costs["one_off"], costs["recurring"]) == ("2977.84", {"1m": "-39.00", "1y": "840.00", "5y": "1530.00"})
    assert costs["by_customer"]["umbrella"]["renewals"] == {
        "umbrella": {"term": "1m", "renews_on": "2020-08-16", "renewal_window": True}}

    assert main(["plan", "examples/costs", "--today", "2020-08-14", "--no-color"]) == 0
    text = capsys.readouterr().out
    assert "    1 + add-licenses           acme/acme           157.06  +210.00/1y " in text
    assert "total   246.81  +290.00/1y" in text
    assert "      r umbrella renews on 2020-08-16 (1m): the plan's changes fall within its renewal window " \
           "[renewal-window]" in text
    assert text.rstrip().endswith("Costs (EUR): 2977.84 charged now; per renewal -39.00/1m, +840.00/1y, +1530.00/5y.")

    assert main(["plan", "examples/costs", "--today", "2020-08-14", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "**Costs (EUR): 2977.84 charged now; per renewal -39.00/1m, +840.00/1y, +1530.00/5y.**" in md.splitlines()
    assert ("| 5 | ~ | change-term | globex | term 1m -> 1y; priced: MonoLED x2 move from the 1m invoice to the 1y "
            "one | 50.00 | -5.00 per 1m +50.00 per 1y | ready |") in md
    assert "| | | **total** | | | **550.00** | **-55.00 per 1m +550.00 per 1y** |" in md
