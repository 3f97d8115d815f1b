"""A YAML syntax error in a partner's words, at the place to fix.

libyaml reports what its grammar expected ("did not find expected key", "found character
that cannot start any token"); a partner needs to read "bad indentation" or "a tab
character", with the line and column of the mistake. Everything else is passed on, cut short
when it quotes a long piece of the input.
"""

from __future__ import annotations

import re

from reconciler.diagnostics import QUOTE_LIMIT, Diagnostic, Position, error, quoted

COLON_NO_SPACE = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_-]+:[^\s:][^#]*?)\s*(?:#.*)?$")
ALIAS_NAME = re.compile(r"\*([^\s,\[\]{}]+)")
BLOCK_PROBLEMS = ("did not find expected key", "did not find expected '-' indicator", "expected <block end>")


def syntax_error(exc, text: str, display: str) -> Diagnostic:
    """libyaml's complaint (a marked error: scanner, parser or composer) in a partner's words."""
    problem, context = exc.problem or "", exc.context or ""
    mark, context_mark = exc.problem_mark, exc.context_mark

    def at(m) -> Position:
        return Position(display, m.line + 1, m.column + 1) if m else Position(display)

    lines = text.splitlines()
    if "tab character" in problem or (mark is not None and problem.endswith("cannot start any token")
                                      and text[mark.index:mark.index + 1] == "\t"):
        return error(at(mark), "schema", "invalid YAML: a tab character: YAML indentation must use spaces")
    if "expected a single document" in context:
        return error(at(mark), "schema",
                     "invalid YAML: more than one YAML document in the file: keep one document (no '---' separator)")
    if context.startswith("while parsing a flow") and context_mark is not None:
        bracket = "{" if "mapping" in context else "["
        closing = "}" if bracket == "{" else "]"
        return error(at(context_mark), "schema",
                     f"invalid YAML: this '{bracket}' is never closed (expected ',' or '{closing}' "
                     f"before line {mark.line + 1})")
    if problem.startswith(BLOCK_PROBLEMS) and context_mark is not None:
        return error(at(mark), "schema", "invalid YAML: bad indentation: this line is not aligned with the keys "
                                         f"above it (line {context_mark.line + 1})")
    if problem.startswith("mapping values are not allowed") and mark is not None:
        line = lines[mark.line] if mark.line < len(lines) else ""
        if ": " in line[:mark.column] or line[:mark.column].rstrip().endswith(":"):
            return error(at(mark), "schema", "invalid YAML: a value containing ': ' must be quoted")
        for number in range(mark.line - 1, -1, -1):
            previous = lines[number]
            if not previous.strip() or previous.lstrip().startswith("#"):
                continue
            glued = COLON_NO_SPACE.match(previous)
            if glued:
                column = previous.index(glued.group(1)) + 1
                return error(Position(display, number + 1, column), "schema",
                             f"invalid YAML: {quoted(glued.group(1))} needs a space after ':'")
            break
        return error(at(mark), "schema", "invalid YAML: unexpected ':' here (a value containing ': ' must be quoted)")
    if problem == "found undefined alias" and mark is not None:
        name = ALIAS_NAME.match(text, mark.index)
        problem = f"found undefined alias {name.group(1)!r}" if name else problem
    text_ = f"{context}: {problem}" if context and problem else (problem or context or "invalid YAML")
    return error(at(mark or context_mark), "schema", f"invalid YAML: {cut(text_)}")


def cut(message: str, limit: int = 4 * QUOTE_LIMIT) -> str:
    """The parser's own words, which may quote the input (an alias name, a token): cut when long."""
    return message if len(message) <= limit else message[:limit] + "..."


def reader_error(exc, text: str, display: str) -> Diagnostic:
    """A character libyaml does not accept in YAML text (a reader error has an index, not a mark)."""
    index = min(max(getattr(exc, "position", 0), 0), len(text))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    character = getattr(exc, "character", None)
    what = f"character U+{ord(character):04X}" if isinstance(character, str) and character else "a character"
    return error(Position(display, line, column), "schema", f"invalid YAML: {what} is not allowed in YAML text")
