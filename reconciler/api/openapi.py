"""The published contract: the OpenAPI 3.1 document of the portal API, generated from the app's models."""

from __future__ import annotations

import json
from pathlib import Path

OPENAPI_FILE = "portal-api.json"


def openapi_document() -> dict:
    from reconciler.api.server import create_app
    from reconciler.providers.sandbox import SandboxProvider

    app = create_app(SandboxProvider(Path("unused.db")), {})  # nothing is opened until a request comes
    return app.openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
