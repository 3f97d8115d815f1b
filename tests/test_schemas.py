"""schemas/ is the published contract: it must match the models, and the examples must match it."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ruamel.yaml import YAML

from reconciler.cli import main
from reconciler.schema import render, schemas
from tests.conftest import ROOT, example_dirs

SCHEMAS = ROOT / "schemas"


def _load_yaml(path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(schemas()))
def test_committed_schema_is_current(name):
    committed = (SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == render(schemas()[name], name), f"schemas/{name} is stale: run `python3 tasks.py schemas`"


@pytest.mark.parametrize("name", sorted(schemas()))
def test_schema_is_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_schema_command_writes_every_schema(tmp_path):
    assert main(["schema", "--out", str(tmp_path / "out")]) == 0
    for name, model in schemas().items():
        assert (tmp_path / "out" / name).read_text(encoding="utf-8") == render(model, name)


def _example_files():
    for example in example_dirs():
        for path in sorted((example / "customers").glob("*.yaml")):
            yield pytest.param("customer.schema.json", path, id=str(path.relative_to(ROOT)))
        if (example / "reconciler.yaml").exists():
            yield pytest.param("config.schema.json", example / "reconciler.yaml",
                               id=str((example / "reconciler.yaml").relative_to(ROOT)))


@pytest.mark.parametrize(("schema_name", "path"), list(_example_files()))
def test_example_matches_committed_schema(schema_name, path):
    schema = json.loads((SCHEMAS / schema_name).read_text())
    jsonschema.Draft202012Validator(schema).validate(_load_yaml(path))


def test_schema_rejects_what_the_models_reject():
    schema = json.loads((SCHEMAS / "customer.schema.json").read_text())
    bad = {"customer": "acme", "company": "Acme", "pbxes": {"acme": {"model": "cloud", "term": "1y",
                                                                     "licenses": {"premuim": 3}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_customer_schema_describes_every_pbx_field():
    schema = json.loads((SCHEMAS / "customer.schema.json").read_text())
    pbx = schema["$defs"]["DesiredPbx"]["properties"]
    undocumented = [name for name, field in pbx.items() if not field.get("description")]
    assert undocumented == []


CONDITIONS = ("allOf", "if", "then", "else", "not")  # the rules between fields restate properties, not define them


def _undescribed(node, where="") -> list[str]:
    """The properties, anywhere in a schema, that have no description."""
    found = []
    if isinstance(node, dict):
        for name, field in node.get("properties", {}).items():
            if not field.get("description"):
                found.append(f"{where}.{name}")
        for key, value in node.items():
            if key not in CONDITIONS:
                found += _undescribed(value, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for value in node:
            found += _undescribed(value, where)
    return found


@pytest.mark.parametrize("name", ["customer.schema.json", "config.schema.json", "snapshot.schema.json"])
def test_every_input_schema_has_an_id_a_title_and_a_description_on_every_property(name):
    schema = json.loads((SCHEMAS / name).read_text())
    assert schema["$id"].endswith(name) and schema["title"]
    assert _undescribed(schema) == []
def test_committed_portal_api_is_current():
    from reconciler.api import openapi

    committed = (SCHEMAS / openapi.OPENAPI_FILE).read_text(encoding="utf-8")
    assert committed == openapi.render(), "schemas/portal-api.json is stale: run `python3 tasks.py schemas`"
    document = json.loads(committed)
    assert document["openapi"].startswith("3.1")
    assert {"/v1/health", "/v1/state", "/v1/steps", "/v1/leases", "/v1/leases/{lease_id}"} <= set(document["paths"])
    step = document["paths"]["/v1/steps"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in step["parameters"])
