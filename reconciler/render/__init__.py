"""Renderers: pure functions from the plan document (the JSON form, FORMAT.md section 6) to text.

Every renderer reads only that document, never the planner's objects, so what a
reviewer reads in a pull request is exactly what `apply` will receive.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.render import html, jsondoc, markdown, text

RENDERERS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "markdown": markdown.render,
    "json": jsondoc.render,
    "html": html.render,
}
