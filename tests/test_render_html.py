"""The HTML report without a browser: user data escaped, the timeline's events and geometry, the CLI flag.

The plan documents are built by hand, as in test_render.py; the browser test opens the examples' reports.
"""

from __future__ import annotations

import shutil

import pytest

from reconciler.cli import main
from reconciler.render import RENDERERS
from reconciler.render.timeline import MAX_LANES, events, layout
from tests.conftest import EXAMPLES
from tests.test_render import _doc, _step

TODAY = "2026-11-30"  # _doc's plan date


def _note(rule, message, customer="acme", pbx="acme", severity="info"):
    return {"severity": severity, "rule": rule, "message": message, "customer": customer, "pbx": pbx}


def test_company_names_and_messages_are_escaped():
    hostile = "<script>alert(1)</script> & Sons"
    doc = _doc([_step(1, "create-customer", pbx=None, customer=hostile, changes={"company": hostile, "contacts": []})],
               [_note("unmanaged-customer", '<img src=x onerror="alert(2)"> on 2026-12-04', customer=hostile)])
    html = RENDERERS["html"](doc)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html


@pytest.mark.parametrize("rule, message, wanted", [
    ("cloud-deletion-schedule", "cloud PBX acme is left with zero licenses on 2026-11-30: it is stopped on "
     "2026-12-05 and irrevocably deleted on 2026-12-14", [("2026-12-05", "stop"), ("2026-12-14", "deletion")]),
    ("cloud-deletion-schedule", "the term change takes cloud PBX acme through zero licenses on 2026-11-30: an "
     "interrupted apply must be resumed before 2026-12-05, when it is stopped (deleted on 2026-12-14)",
     [("2026-12-05", "stop"), ("2026-12-14", "deletion")]),
    ("no-refund", "decreasing licenses on acme returns no money for the prepaid period (paid until 2027-06-16)",
     [("2027-06-16", "renewal")]),
    ("conversion-effects", "converting 1 WorkForce on acme: a credit note is issued by 2026-12-07, and the devices "
     "are kept at least until 2027-05-30; their billing follows the PBX term (1y)",
     [("2026-12-07", "credit-note"), ("2027-05-30", "minimum-term")]),
    ("activation-report-window", "report any mistake in the activation of acme to the Area Manager by 2026-12-01 "
     "(1 business day)", [("2026-12-01", "activation")]),
    ("renewal-window", "license changes on acme fall within 2 days of its renewal on 2026-12-02: changes are "
     "recommended 2 days before expiry; renewal and invoice fall on 2026-12-02", [("2026-12-02", "renewal")]),
    ("hwaas-follows-pbx-term", "the 2 WorkForce ordered for acme take its term (1y) and expire with it on "
     "2027-03-05, billed prorated from 2026-11-30", [("2027-03-05", "renewal")]),
    ("overdue-blocks-hardware", "the partner has invoices overdue since 2026-11-10 (more than 5 days)", []),
    ("term-change-through-zero", "the term of globex changes from 1m to 1y from 2026-11-22: it renews, and is "
     "invoiced, on 2027-11-22 instead of 2026-12-10", [("2027-11-22", "renewal")]),
    ("hwaas-follows-pbx-term", "the HWaaS devices on globex (9C7514000101) follow its term change to 1y, expiring "
     "with it on 2027-11-22", [("2027-11-22", "renewal")]),
    ("transfer-effects", "transferring 9C7514000404 from acme/acme to globex: a credit note is issued to acme/acme "
     "by 2026-12-07, and the devices are kept at least until 2027-05-22; their billing follows the licenses of "
     "globex (1y, until 2027-04-07)", [("2026-12-07", "credit-note"), ("2027-04-07", "renewal"),
                                       ("2027-05-22", "minimum-term")]),
    ("transfer-conditions", "open a Customer Care ticket to transfer 9C7514000405 from acme/acme to initech/initech: "
     "automatic transfer needs the same term and expiry; the expiry dates differ (2027-04-07 and 2027-09-15)",
     [("2027-04-07", "renewal"), ("2027-09-15", "renewal")]),
    ("some-future-rule", "something happens on 2027-01-15", [("2027-01-15", "date")]),
])
def test_each_date_in_a_message_is_an_event_named_by_the_words_before_it(rule, message, wanted):
    found = events(_doc([], [_note(rule, message)]))
    assert [(e.day, e.kind) for e in found] == wanted
    assert all(e.customer == "acme" and e.pbx == "acme" and rule in e.detail for e in found)


def test_steps_fall_on_the_plan_date_or_their_not_before_and_an_undated_block_is_not_drawn():
    doc = _doc([_step(1, "add-licenses"), _step(2, "return-hwaas", "manual", instruction="open a case"),
                _step(3, "remove-licenses", "blocked", "2026-12-01", instruction="no license decrease on the last "
                      "day of the month (2026-11-30)"),
                _step(4, "order-hwaas", "blocked", None, instruction="invoices overdue since 2026-11-10")])
    assert [(e.day, e.kind, e.step) for e in events(doc)] == [
        (TODAY, "ready", 1), (TODAY, "manual", 2), (TODAY, "last-day", None), ("2026-12-01", "blocked", 3)]


def test_a_date_that_belongs_to_another_pbx_goes_to_its_lane():
    doc = _doc([_step(1, "transfer-hwaas", "manual", customer="initech", pbx="initech", instruction=(
        "open a Customer Care ticket: terms differ (acme/acme: 1y until 2027-04-07, initech/initech: 1y until "
        "2027-09-15)"))])
    assert [(e.day, e.kind, e.customer, e.pbx) for e in events(doc)][1:] == [
        ("2027-04-07", "renewal", "acme", "acme"), ("2027-09-15", "renewal", "initech", "initech")]


def test_priced_renewals_are_events_once_even_when_a_message_names_them_too():
    doc = _doc([_step(1, "remove-licenses")], [_note("no-refund", "no money back (paid until 2027-06-16)")])
    doc["summary"] = {"costs": {"currency": "EUR", "by_customer": {"acme": {"renewals": {
        "acme": {"renews_on": "2027-06-16", "term": "1y", "renewal_window": False},
        "acme-old": {"renews_on": "2025-01-01", "term": "1y", "renewal_window": False}}}}}}
    assert [(e.day, e.kind, e.pbx) for e in events(doc)] == [(TODAY, "ready", "acme"),
                                                             ("2027-06-16", "renewal", "acme")]


def test_month_ends_are_on_the_axis_and_the_steps_of_one_day_are_one_mark():
    doc = _doc([_step(1, "add-licenses"), _step(2, "add-licenses"), _step(3, "remove-licenses", "blocked",
                                                                          "2027-03-05")])
    chart = layout(doc, events(doc), ["acme"])
    assert [tick.day for tick in chart.month_ends] == ["2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28"]
    assert chart.compressed and chart.end == "2027-03-05"
    today, later = chart.lanes[0].marks
    assert (today.kind, today.steps, later.kind, later.steps) == ("ready", "1 2", "blocked", "3")
    assert today.title.startswith(f"{TODAY}: 2 x ready step (today). step 1 add-licenses: ")
    assert later.x > today.x and later.y == today.y  # apart, on one row


def test_a_large_plan_keeps_the_lanes_with_dated_events_and_counts_the_others():
    steps = [_step(i, "add-licenses", customer=f"c{i:03}", pbx=f"c{i:03}") for i in range(1, MAX_LANES + 11)]
    steps.append(_step(len(steps) + 1, "remove-licenses", "blocked", "2026-12-01", customer="zz", pbx="zz"))
    steps.append(_step(len(steps) + 1, "order-hwaas", "blocked", None, customer="undated", pbx="undated"))
    doc = _doc(steps)
    customers = sorted({s["customer"] for s in steps})
    chart = layout(doc, events(doc), customers)
    lanes = [lane.customer for lane in chart.lanes]
    assert len(lanes) == MAX_LANES and "zz" in lanes and "undated" not in lanes
    assert chart.folded == 11 and chart.undated == 1
    html = RENDERERS["html"](doc)
    assert "11 more customers with dated events have no lane" in html
    assert "1 customer has no dated event" in html
    assert html.count('<tr class="step"') == len(steps)


def test_a_plan_without_changes_says_so_and_draws_no_timeline():
    html = RENDERERS["html"](_doc([]))
    assert "No changes. The portal matches the desired state." in html and 'id="timeline"' not in html


def test_plan_format_html_on_the_command_line(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "last-day-decrease", repo)
    assert main(["plan", str(repo), "--today", "2026-11-30", "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert 'data-date="2026-12-01" data-kind="blocked" data-step="2"' in out
