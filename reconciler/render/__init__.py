"""Renderers: pure functions from the plan document (the JSON form, FORMAT.md section 6) to text.

Every renderer reads only that document, never the planner's objects, so what a
reviewer reads in a pull request is exactly what `apply` will receive.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.render import jsondoc, markdown, text


def _html(doc: dict, **options) -> str:
    """The HTML report; its template engine (Jinja2) is imported only when a report is drawn."""
    from reconciler.render import html

    return html.render(doc, **options)


RENDERERS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "markdown": markdown.render,
    "json": jsondoc.render,
    "html": _html,
}
