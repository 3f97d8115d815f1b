"""JSON Schemas generated from the models (customer file, repo configuration, plan document): the published contract for editors and tools.

`reconciler schema` writes them; a test fails when the committed files differ from
what the models generate, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from reconciler.config import Config
from reconciler.desired import CustomerFile
from reconciler.plan.model import Plan

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schemas() -> dict[str, type[BaseModel]]:
    """File name -> model; later stages add theirs here."""
    return {"customer.schema.json": CustomerFile, "config.schema.json": Config, "plan.schema.json": Plan}


def generate(model: type[BaseModel]) -> dict:
    mode = "serialization" if model is Plan else "validation"  # the plan is written, the others are read
    schema = model.model_json_schema(mode=mode)
    return {"$schema": DRAFT, **schema}


def render(model: type[BaseModel]) -> str:
    return json.dumps(generate(model), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in schemas().items():
        path = out / name
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    from reconciler.api import openapi  # the portal API's contract, generated from its models too

    path = out / openapi.OPENAPI_FILE
    path.write_text(openapi.render(), encoding="utf-8")
    return [*written, path]
