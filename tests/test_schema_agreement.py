"""The published schemas and `reconciler validate` give the same verdict on the same file.

Editors (the YAML language server) and pre-commit hooks (check-jsonschema) judge files by
the schemas alone; a schema looser than validate lets a partner commit a file that fails
in CI, and one stricter flags a file that is fine. Each file of the table goes through
both: validate's exit code, and the schema on the file as an editor reads it (YAML 1.2;
a file that does not parse is rejected). The rules no schema can express are listed in
`BEYOND_A_SCHEMA`, with the reason; every other case must agree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError

from reconciler.cli import main
from tests.conftest import ROOT, example_dirs

DATA = Path(__file__).resolve().parent / "data" / "malformed"
SCHEMAS = ROOT / "schemas"

# Case -> why a JSON Schema cannot reject what validate rejects (or the other way round).
BEYOND_A_SCHEMA = {
    "rule-one-licensed-pbx-per-customer": "counts licensed PBXs across the entries of a mapping: "
                                          "JSON Schema has no way to count matching properties",
    "merge-key": "YAML readers (editors, check-jsonschema) merge `<<` before a schema sees the data; "
                 "validate refuses merge keys, a YAML 1.1 feature, and asks for the settings written out",
    "utf16-file": "YAML allows UTF-16 and editors read it; the portal's files are UTF-8, validate says so",
    "company-is-date": "to an editor a date is a string (JSON has no dates); validate reads it as YAML 1.1 "
                       "does, a date, and asks for quotes",
}

WRONG = {  # the mistakes partners make that the schemas used to let through
    "bad-name-hides-below": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  Acme.Main:\n    model: cloud\n    term: lifetime\n    colour: red\n",
    "cloud-without-region": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  acme: {model: cloud, term: 1y}\n",
    "cloud-lifetime": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                      "pbxes:\n  acme: {model: cloud, region: eu, term: lifetime}\n",
    "virtual-with-storage": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  acme: {model: virtual, term: 1y, storage_gb: 50}\n",
    "hardware-with-region": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  acme: {model: hardware, term: 1y, region: eu}\n",
    "lifetime-with-hwaas": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                           "pbxes:\n  acme: {model: virtual, term: lifetime, hwaas: {WorkForce: 2}}\n",
    "lifetime-with-pinned": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  acme: {model: virtual, term: lifetime, pinned: {9C75: hwaas}}\n",
    "no-contacts": "customer: acme\ncompany: Acme\ncontacts: []\npbxes: {}\n",
    "bad-serial-pinned": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                         "pbxes:\n  acme: {model: virtual, term: 1y, pinned: {-bad: hwaas}}\n",
}
RIGHT = {  # and what they may write
    "lifetime-no-hwaas": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                         "pbxes:\n  acme: {model: virtual, term: lifetime, hwaas: {WorkForce: 0}, pinned: {}}\n",
    "virtual-null-options": "customer: acme\ncompany: Acme\ncontacts: [{name: J, email: j@a.example}]\n"
                            "pbxes:\n  acme: {model: hardware, term: 5y, region: null, ssh: null}\n",
}


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


class EditorConstructor(SafeConstructor):
    """YAML as editors and check-jsonschema read it for a schema: JSON's types, so a date is a string."""


EditorConstructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_scalar)


def editor_yaml() -> YAML:
    reader = YAML(typ="safe", pure=True)
    reader.Constructor = EditorConstructor
    return reader


def schema_accepts(path: Path, schema: dict) -> bool:
    try:
        data = editor_yaml().load(path.read_bytes())
    except (YAMLError, ValueError, RecursionError):  # not text, or nested deeper than a reader goes
        return False
    return jsonschema.Draft202012Validator(schema).is_valid(data)


def validate_accepts(path: Path, capsys) -> bool:
    code = main(["validate", str(path)])
    capsys.readouterr()
    return code == 0


def customer_cases() -> list:
    cases = [pytest.param(p, id=p.stem) for p in sorted(DATA.glob("*.yaml"))]
    cases += [pytest.param(p, id=str(p.relative_to(ROOT)))
              for example in example_dirs() for p in sorted((example / "customers").glob("*.yaml"))]
    return cases


def verdicts(path: Path, schema_name: str, capsys) -> tuple[bool, bool]:
    return validate_accepts(path, capsys), schema_accepts(path, _schema(schema_name))


@pytest.mark.parametrize("path", customer_cases())
def test_customer_schema_agrees_with_validate(path, capsys):
    if path.stem in BEYOND_A_SCHEMA:
        assert validate_accepts(path, capsys) is False, f"{path.stem} is listed as beyond a schema: validate accepts it"
        return
    validated, schema = verdicts(path, "customer.schema.json", capsys)
    assert schema == validated, f"validate {'accepts' if validated else 'rejects'} {path.name}, the schema does not"


@pytest.mark.parametrize("name", sorted(WRONG) + sorted(RIGHT))
def test_the_common_mistakes_get_the_same_verdict(name, tmp_path, capsys):
    path = tmp_path / f"{name}.yaml"
    path.write_text(WRONG.get(name) or RIGHT[name], encoding="utf-8")
    validated, schema = verdicts(path, "customer.schema.json", capsys)
    assert (validated, schema) == ((False, False) if name in WRONG else (True, True))


def config_cases() -> list:
    cases = [pytest.param(p, id=p.stem) for p in sorted((DATA / "config").glob("reconciler-*.yaml"))]
    cases += [pytest.param(e / "reconciler.yaml", id=e.name) for e in example_dirs() if (e / "reconciler.yaml").exists()]
    return cases


CONFIG_BEYOND = {
    "reconciler-comments-only": "an editor validates no document in a file of comments; validate reads defaults",
    "reconciler-unknown-timezone": "the IANA names are a list that changes with tzdata, not a pattern",
    "reconciler-timezone-path": "the IANA names are a list that changes with tzdata, not a pattern",
    "reconciler-timezone-number": "the IANA names are a list that changes with tzdata, not a pattern",
    "reconciler-unknown-portal-timezone": "the IANA names are a list that changes with tzdata, not a pattern",
    "reconciler-price-book-absolute": "path-outside-repo: where a path leads depends on the file system (the "
                                      "repo's place, symbolic links, RECONCILER_ALLOW_OUTSIDE_REPO), not its text",
    "reconciler-price-book-dotdot": "path-outside-repo: a '..' may stay inside the repo or leave it, by the "
                                    "file system, not by the text",
    "reconciler-provider-path-outside": "path-outside-repo: where a path leads depends on the file system",
}


@pytest.mark.parametrize("path", config_cases())
def test_config_schema_agrees_with_validate(path, tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copyfile(path, repo / "reconciler.yaml")
    for extra in ("pricebook.csv",):
        if (path.parent / extra).exists():
            shutil.copyfile(path.parent / extra, repo / extra)
    if path.stem in CONFIG_BEYOND:
        assert validate_accepts(repo / "reconciler.yaml", capsys) is (path.stem == "reconciler-comments-only")
        return
    validated, schema = verdicts(repo / "reconciler.yaml", "config.schema.json", capsys)
    assert schema == validated


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_every_example_snapshot_matches_the_snapshot_schema(example):
    assert schema_accepts(example / "state.yaml", _schema("snapshot.schema.json"))


def test_the_snapshot_schema_rejects_a_misspelt_key(tmp_path):
    path = tmp_path / "state.yaml"
    path.write_text("as_of: 2026-11-22\ncustomers:\n  acme:\n    company: Acme\n    pbxes:\n      acme:\n"
                    "        serial: S1\n        model: cloud\n        term: 1y\n        licences: {basic: 1}\n")
    assert not schema_accepts(path, _schema("snapshot.schema.json"))
