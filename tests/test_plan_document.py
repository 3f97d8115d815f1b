"""The planner returns the finished plan document: nobody edits it afterwards, renderers read exactly it.

- every example's document (and a failure's) reads back through `Plan.model_validate` unchanged;
- the diagnostics are one model, `reconciler.diagnostics.Diagnostic`, from the loader to the JSON;
- scope notes, positions (through the loader's `locate`), fingerprints and drift come in as the
  planner's arguments, and the summary counts them once;
- renderers print the summary's status counts, never a count of their own.
"""

from __future__ import annotations

import copy

import pytest

from reconciler.diagnostics import Diagnostic, Position, ReconcilerError, Severity
from reconciler.plan.model import Plan
from reconciler.render import RENDERERS, due
from reconciler.workflow import PlanRequest, failure_document
from scripts.render_examples import ROOT, examples, plan_document
from tests.test_plan_support import CURRENT_PBX, DESIRED_PBX, TODAY, Policy, customer_file, merged, plan, snapshot

EXAMPLES = examples()


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RECONCILER_TODAY", raising=False)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_every_examples_document_round_trips_through_the_model_unchanged(example):
    document = plan_document(example)
    assert document["fingerprints"]["desired"].startswith("sha256:")  # finished: fingerprints included
    assert Plan.model_validate(document).model_dump(mode="json") == document


def test_a_failures_document_round_trips_too():
    document = failure_document(ReconcilerError("no such state file"), PlanRequest(paths=["."], today="2026-05-01"))
    assert document["diagnostics"][0]["message"] == "no such state file"
    assert document["summary"]["errors"] == 1
    assert Plan.model_validate(document).model_dump(mode="json") == document


def test_the_document_carries_one_diagnostic_model():
    document = plan_document(EXAMPLES[0])
    document["diagnostics"].append({"severity": "warning", "rule": "r", "message": "m", "customer": "acme",
                                    "pbx": None, "file": "a.yaml", "line": 3, "column": 5})
    read = Plan.model_validate(document).diagnostics[-1]
    assert type(read) is Diagnostic and read.severity is Severity.WARNING
    assert read.format() == "a.yaml:3:5: warning[r]: m"


def over_licensed():
    """A plan with a rule diagnostic on PBX acme/main: a pinned serial the portal does not know."""
    current = snapshot({"acme": {"main": CURRENT_PBX}})
    desired = [customer_file("acme", pbxes={"main": merged(DESIRED_PBX, pinned={"9C9999": "hwaas"})})]
    return desired, current


def test_notes_positions_fingerprints_and_drift_are_the_planners_arguments():
    desired, current = over_licensed()
    bare = plan(desired, current, TODAY, Policy())
    assert bare.diagnostics and all(d.file is None for d in bare.diagnostics)  # nothing placed without `locate`

    asked = []

    def locate(customer, pbx):
        asked.append((customer, pbx))
        return Position("customers/acme.yaml", 7, 3) if pbx == "main" else Position("customers/acme.yaml", 1, 1)

    note = Diagnostic(Severity.WARNING, "customer-file-deleted", "gone.yaml was deleted")
    result = plan(desired, current, TODAY, Policy(), notes=[note], locate=locate,
                  fingerprints={"desired": "sha256:d", "current": "sha256:c"}, drift=[{"customer": "acme"}])
    document = result.model_dump(mode="json")
    assert document["diagnostics"][0] == {**dict.fromkeys(("customer", "pbx", "file", "line", "column")),
                                          "severity": "warning", "rule": "customer-file-deleted",
                                          "message": "gone.yaml was deleted"}
    placed = document["diagnostics"][1:]
    assert placed and all((d["file"], d["line"], d["column"]) == ("customers/acme.yaml", 7, 3) for d in placed)
    assert ("acme", "main") in asked
    assert document["summary"]["warnings"] == sum(d["severity"] == "warning" for d in document["diagnostics"])
    assert document["summary"]["warnings"] == bare.summary.warnings + 1  # the note, counted once with the rest
    assert document["fingerprints"] == {"desired": "sha256:d", "current": "sha256:c"}
    assert document["drift"] == [{"customer": "acme"}]
    assert Plan.model_validate(document).model_dump(mode="json") == document
    assert "drift" not in bare.model_dump(mode="json")  # no drift asked for: no key, as before drift existed


def blocked_example() -> dict:
    for example in EXAMPLES:
        document = plan_document(example)
        if document["summary"]["blocked"] and document["summary"]["ready"]:
            return document
    raise AssertionError("an example with ready and blocked steps")


@pytest.mark.parametrize("name", ["text", "markdown", "html"])
def test_renderers_print_the_summarys_counts_not_their_own(name):
    document = blocked_example()
    ready, blocked = document["summary"]["ready"], document["summary"]["blocked"]
    honest = RENDERERS[name](document)
    assert f"{ready} ready" in honest
    doctored = copy.deepcopy(document)
    doctored["summary"]["ready"], doctored["summary"]["blocked"] = ready + 40, blocked + 50
    for counts in doctored["summary"]["by_customer"].values():
        counts["ready"] += 1000
    shown = RENDERERS[name](doctored)
    assert f"{ready + 40} ready" in shown and f"{blocked + 50} blocked" in shown
    assert f"{ready + 40} ready" not in honest
    if name != "text":  # markdown and html also head each customer's section with its counts
        customer, counts = next(iter(document["summary"]["by_customer"].items()))
        assert f"{counts['ready'] + 1000} ready" in shown and f"{counts['ready'] + 1000} ready" not in honest


def test_the_due_view_reads_the_summarys_ready_count():
    doctored = copy.deepcopy(blocked_example())
    doctored["summary"]["ready"] = 77
    assert "77 steps ready today" in due.render(doctored)
