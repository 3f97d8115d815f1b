"""JSON Schemas generated from the models (customer file, repo configuration, snapshot, plan document): the published contract for editors and tools.

`reconciler schema` writes them; a test fails when the committed files differ from
what the models generate, so the two cannot drift apart. The schemas are meant to be as
strict as `reconciler validate`: the rules between fields are in the models' schema extras,
and every mapping with patterned keys (PBX names, pinned serials) refuses other keys, so a
mistyped key is flagged instead of switching off every check below it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from reconciler.config import Config
from reconciler.desired import CustomerFile
from reconciler.plan.model import Plan
from reconciler.snapshot import Snapshot

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "urn:reconciler:schemas:"  # an identity, not a location: the files travel with each copy of the tool


def schemas() -> dict[str, type[BaseModel]]:
    """File name -> model; later stages add theirs here."""
    return {"customer.schema.json": CustomerFile, "config.schema.json": Config,
            "snapshot.schema.json": Snapshot, "plan.schema.json": Plan}


def _closed(node) -> None:
    """Keys outside patternProperties are errors, as the models have them (pydantic leaves this open)."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for value in node:
            _closed(value)


def generate(model: type[BaseModel], name: str = "") -> dict:
    mode = "serialization" if model is Plan else "validation"  # the plan is written, the others are read
    schema = model.model_json_schema(mode=mode)
    _closed(schema)
    head = {"$schema": DRAFT}
    if name:
        head["$id"] = BASE_ID + name
    return {**head, **schema}


def render(model: type[BaseModel], name: str = "") -> str:
    return json.dumps(generate(model, name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in schemas().items():
        path = out / name
        path.write_text(render(model, name), encoding="utf-8")
        written.append(path)
    from reconciler.api import openapi  # the portal API's contract, generated from its models too

    path = out / openapi.OPENAPI_FILE
    path.write_text(openapi.render(), encoding="utf-8")
    return [*written, path]
