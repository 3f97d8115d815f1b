"""The JSON renderer: the plan document itself, with sorted keys (byte-identical for identical plans)."""

from __future__ import annotations

import json


def render(doc: dict, color: bool = False) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
