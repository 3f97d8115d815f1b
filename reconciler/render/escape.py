"""Escaping of user data for each output, so that a name in a file cannot change what a reviewer sees.

Company names, contact names, e-mails, PBX names, file names and the messages that quote
them come from a pull request. In a terminal a raw ESC sequence can repaint the screen and a
newline can forge a diagnostic line (`visible`); in a GitHub comment `<!--` can hide every
later step, `</details>` can break the folding, `*x*` turns italic and `@name` pings someone
(`markdown`). Renderers escape the whole plan document once, on the way in (`escaped`), and
add their own markup afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text:
# bidi embeddings, overrides and isolates, zero-width characters, the line and paragraph separators.
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
ZERO_WIDTH_SPACE = "&#8203;"  # after an `@`: GitHub then links no user or team (what Dependabot writes)

# The characters that mean something to GitHub-flavoured markdown or HTML where user data stands
# (a table cell, a list item, a <summary>): written as character references, which both read as text.
MARKDOWN_SPECIAL = "&<>`*_[]\\|~$"
MARKDOWN = {ord(char): f"&#{ord(char)};" for char in MARKDOWN_SPECIAL}
MARKDOWN.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("@"): "@" + ZERO_WIDTH_SPACE})


def _visible_char(found: re.Match) -> str:
    char = found.group()
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Control characters, C1, bidi overrides and zero-width characters as visible escapes (`\\x1b`, `\\u202e`)."""
    return INVISIBLE.sub(_visible_char, text)


def markdown(text: str) -> str:
    """Text that reads as itself in a GitHub comment, in markdown and in raw HTML alike, on one line."""
    return visible(text).translate(MARKDOWN)


def visible_document(doc: dict) -> dict:
    """`escaped(doc, visible)`, made without a copy when nothing in it needs escaping: the document itself.

    Whether anything does is asked once, of the document's JSON text, at C speed (a copy of a big
    plan is as big as the plan): JSON writes a control character as an escape, so a text
    without a backslash and without the other invisible characters holds none. Renderers read
    the document; they never change it.
    """
    try:
        text = orjson.dumps(doc).decode("utf-8")
    except TypeError:  # not JSON data (orjson.JSONEncodeError): the walk says what it holds
        return escaped(doc, visible)
    return escaped(doc, visible) if "\\" in text or INVISIBLE.search(text) else doc


def escaped(value, escape: Callable[[str], str]):
    """`value` (a plan document or any part of it) with every string value in it passed through `escape`.

    Keys are the document's own names, customer ids and PBX names, which the schema keeps to
    letters, digits and dashes: they stay as they are, so that renderers still find them.
    """
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {key: escaped(item, escape) for key, item in value.items()}
    if isinstance(value, list):
        return [escaped(item, escape) for item in value]
    return value
