"""Renderers read only the plan document: these tests build one by hand and read what a reviewer sees."""

from __future__ import annotations

import json

from reconciler.plan.model import Plan, summarize
from reconciler.render import RENDERERS
from reconciler.render.markdown import OPEN_UP_TO


WF = {"product": "WorkForce", "quantity": 1}
# What a step of each action changes unless a test says (the least its action's model takes).
CHANGES = {"add-licenses": {"licenses.basic": [0, 1]}, "remove-licenses": {"licenses.basic": [1, 0]},
           "order-hwaas": WF, "return-hwaas": {**WF, "serials": ["9C7514000001"]},
           "transfer-hwaas": {**WF, "serials": ["9C7514000009"], "from": "globex/globex"}}


def _step(id_, action, status="ready", not_before=None, pbx="acme", rules=(), instruction=None, changes=None,
          customer="acme"):
    return {"id": id_, "customer": customer, "pbx": pbx, "action": action, "status": status,
            "not_before": not_before, "rules": list(rules), "depends_on": [], "instruction": instruction,
            "changes": changes or CHANGES[action], "cost": None}


def _doc(steps, diagnostics=()):
    """A plan document of these steps and diagnostics, with the summary the planner would count for them."""
    doc = {"format_version": "1", "tool_version": "0.1.0", "today": "2026-11-30", "timezone": "Europe/Rome",
           "summary": {}, "diagnostics": list(diagnostics), "steps": steps, "fingerprints": {}}
    plan = Plan.model_validate(doc)
    return {**doc, "summary": summarize(plan.steps, plan.diagnostics).model_dump(mode="json")}


LAST_DAY = _doc(
    [
        _step(1, "add-licenses", changes={"licenses.premium": [5, 7]}),
        _step(2, "remove-licenses", "blocked", "2026-12-01", rules=["no-decrease-last-day"],
              changes={"licenses.essential": [30, 20]}),
        _step(3, "transfer-hwaas", "manual", rules=["transfer-conditions"],
              instruction="open a Customer Care ticket to transfer 9C7514000009 from globex/globex",
              changes={"product": "WorkForce", "quantity": 1, "serials": ["9C7514000009"],
                       "from": "globex/globex"}),
    ],
    [
        {"severity": "warning", "rule": "renewal-window", "message": "changes within 2 days of renewal on 2026-12-01",
         "customer": "acme", "pbx": "acme"},
        {"severity": "info", "rule": "no-refund", "message": "no money back for the prepaid period",
         "customer": "acme", "pbx": "acme"},
    ],
)


def test_text_lists_steps_in_order_with_status_and_summary():
    text = RENDERERS["text"](LAST_DAY)
    lines = text.splitlines()
    assert lines[0] == "reconciler plan for 2026-11-30 (Europe/Rome)"
    assert lines[-1] == "Plan: 1 ready, 1 blocked until 2026-12-01, 1 manual."
    assert text.index("Warnings:") < text.index("add-licenses")  # warnings up front
    assert "    1 + add-licenses     acme/acme  licenses.premium 5 -> 7" in lines
    assert "blocked until 2026-12-01 [no-decrease-last-day]" in text
    assert "manual [transfer-conditions]: open a Customer Care ticket" in text
    assert "WorkForce x1 (9C7514000009)" in text
    assert "\033[" not in text


def test_text_colors_only_when_asked():
    assert "\033[" in RENDERERS["text"](LAST_DAY, color=True)


def test_no_changes_is_said_plainly():
    for name in ("text", "markdown"):
        assert "No changes. The portal matches the desired state." in RENDERERS[name](_doc([]))


def test_markdown_summary_first_then_a_section_per_customer_with_warnings_first():
    md = RENDERERS["markdown"](LAST_DAY)
    assert "**Plan: 1 ready, 1 blocked until 2026-12-01, 1 manual.**" in md
    assert "| customers | steps | ready | blocked | manual | errors | warnings |" in md
    assert md.index("| customers |") < md.index("<details")
    section = md[md.index("<details open><summary><b>acme</b>: 3 steps (1 ready, 1 blocked, 1 manual)"):]
    assert section.index("renewal-window") < section.index("| 1 |")
    assert "| 2 | - | remove-licenses | acme | licenses.essential 30 -> 20 | blocked until 2026-12-01 " \
           "(`no-decrease-last-day`) |" in md


def test_markdown_folds_customers_that_need_no_attention_in_a_large_plan():
    quiet = [_step(i, "add-licenses", customer=f"c{i:02}", pbx=f"c{i:02}") for i in range(1, OPEN_UP_TO + 2)]
    loud = _step(99, "remove-licenses", "blocked", "2026-12-01", customer="zeta", pbx="zeta")
    md = RENDERERS["markdown"](_doc(quiet + [loud]))
    assert "<details><summary><b>c01</b>: 1 step</summary>" in md
    assert "<details open><summary><b>zeta</b>: 1 step (1 blocked)</summary>" in md
    small = RENDERERS["markdown"](_doc(quiet[:OPEN_UP_TO]))
    assert "<details><summary>" not in small and small.count("<details open>") == OPEN_UP_TO


def test_markdown_escapes_table_cells():
    from markdown_it import MarkdownIt

    steps = [_step(1, "create-customer", pbx=None, changes={"company": "A | B", "contacts": []})]
    html = MarkdownIt("commonmark").enable("table").render(RENDERERS["markdown"](_doc(steps)))
    assert "<td>company: A | B, contacts: none</td>" in html


def test_json_is_the_document_with_sorted_keys():
    text = RENDERERS["json"](LAST_DAY)
    assert json.loads(text) == LAST_DAY
    assert text == RENDERERS["json"](json.loads(text))
    assert list(json.loads(text)) == sorted(LAST_DAY)
