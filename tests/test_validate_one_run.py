"""`validate` tells everything in one run: rule errors on the valid parts of a file beside the schema errors
of its other parts, and product names checked against the catalog validate knows (RULES.md, "Validation").

A table, in the style of the rule tables: each row a file, the (line, column, rule) that must be reported
and nothing else. The catalog validate knows is the price book's when one is configured, else the sandbox's
built-in one when the provider is the sandbox (the default); with a snapshot provider none is known.
"""

from __future__ import annotations

import pytest

from reconciler.cli import main
from tests.test_validation_rules import HEADER, with_hwaas  # the PBX's hwaas mapping on line 10, column 13

CLOUD_WITHOUT_REGION = """\
  acme:
    model: cloud
    term: 1y
    licenses: {essential: 5}
"""


BRANCH_TYPO = """\
  acme-branch:
    model: virtual
    term: 1y
    licenses: {premuim: 3}
"""

ROWS = [
    ("rule error on one PBX beside a schema error on another", HEADER + CLOUD_WITHOUT_REGION + BRANCH_TYPO,
     [(6, 3, "cloud-needs-region"), (13, 16, "schema")]),
    ("schema error alone: the valid PBX breaks no rule", HEADER + CLOUD_WITHOUT_REGION.replace(
        "    term: 1y\n", "    region: eu-central\n    term: 1y\n") + BRANCH_TYPO,
     [(14, 16, "schema")]),
    ("a rule is not judged on the PBX that has the schema error", HEADER + """\
  acme:
    model: cloud
    term: 1y
    licenses: {premuim: 3}
""", [(9, 16, "schema")]),
    ("a misspelled product, pointed at its own key, with the sandbox's built-in catalog", with_hwaas("{WorkFroce: 2}"), [(10, 13, "known-product")]),
    ("a product of the built-in catalog", with_hwaas("{WorkForce: 2}"), []),
    ("a misspelled product beside a schema error of its own PBX's sibling", with_hwaas("{WorkFroce: 2}") + BRANCH_TYPO,
     [(10, 13, "known-product"), (15, 16, "schema")]),
    ("contacts in error: contact-required is not judged on them", """\
customer: acme
company: Acme GmbH
contacts:
  - {name: Jane Doe, emial: jane@acme.example}
pbxes:
""" + CLOUD_WITHOUT_REGION, [(4, 22, "schema"), (6, 3, "cloud-needs-region")]),
]


def reported(capsys, *args: str) -> list[tuple[int, int, str]]:
    main(["validate", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    found = []
    for line in err.splitlines()[:-1]:
        place, severity = line.split(": ", 2)[:2]
        _, row, column = place.rsplit(":", 2)
        found.append((int(row), int(column), severity.split("[")[1].rstrip("]")))
    return found


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=name) for name, t, e in ROWS])
def test_one_run_reports_rule_and_schema_errors(tmp_path, monkeypatch, capsys, text, expected):
    (tmp_path / "acme.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert reported(capsys, "acme.yaml") == expected


CONFIGURED = [
    ("the price book is the catalog when configured: WorkForce is the sandbox's, not this book's",
     {"reconciler.yaml": "price_book: prices.csv\n",
      "prices.csv": "product,category,term,price,currency\nVision,phones,1y,60.00,EUR\n"},
     "{WorkForce: 2, Vision: 1}", [(10, 13, "known-product")]),
    ("a snapshot's catalog is known once it is read: validate does not read it, plan judges it",
     {"reconciler.yaml": "provider: {kind: snapshot, path: state.yaml}\n",
      "state.yaml": "as_of: 2026-11-22\npartner: {overdue_since: null}\ncustomers: {}\n"},
     "{WorkFroce: 2}", []),
]


@pytest.mark.parametrize(("files", "hwaas", "expected"), [pytest.param(*row[1:], id=row[0]) for row in CONFIGURED])
def test_the_catalog_validate_knows_from_the_configuration(tmp_path, monkeypatch, capsys, files, hwaas, expected):
    for name, text in {**files, "acme.yaml": with_hwaas(hwaas)}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert reported(capsys, ".") == expected
