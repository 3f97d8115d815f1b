"""The examples are the product's test bed: each validates, plans, and its rendered plan is committed.

- `reconciler validate examples/*` passes;
- plans/ holds each example's plan exactly as `python3 tasks.py plans` renders it;
- syrupy snapshots of all three renderings, reviewed when accepted;
- every JSON plan matches the committed schemas/plan.schema.json.
"""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from reconciler.cli import main
from reconciler.render import RENDERERS
from scripts.render_examples import PLANS, ROOT, examples, plan_document, rendered

EXAMPLES = examples()
IDS = [example.name for example in EXAMPLES]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("RECONCILER_TODAY", raising=False)


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 6


def test_validate_passes_on_every_example(capsys):
    assert main(["validate", *(str(e.relative_to(ROOT)) for e in EXAMPLES)]) == 0
    assert "all valid" in capsys.readouterr().err


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_every_example_has_a_readme_saying_what_it_shows(example):
    first = (example / "README.md").read_text(encoding="utf-8").strip().splitlines()[0]
    assert len(first) > 20


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_committed_plans_are_current(example):
    for name, content in rendered(example).items():
        path = PLANS / name
        assert path.exists(), f"plans/{name} is missing: run `python3 tasks.py plans`"
        assert path.read_text(encoding="utf-8") == content, f"plans/{name} is stale: run `python3 tasks.py plans`"


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_rendered_plan_snapshot(example, renderer, snapshot):
    assert RENDERERS[renderer](plan_document(example)) == snapshot


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_json_plan_matches_the_committed_schema(example):
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    document = json.loads(RENDERERS["json"](plan_document(example)))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["format_version"] == "1"


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_planning_is_deterministic(example):
    assert RENDERERS["json"](plan_document(example)) == RENDERERS["json"](plan_document(example))
