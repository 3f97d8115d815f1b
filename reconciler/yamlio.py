"""Read YAML into plain Python values while remembering where every key and value stands.

ruamel.yaml composes the node graph (each node keeps its line and column); this module
walks it into dicts, lists and scalars and records a `Positions` map from each path
(`("pbxes", "acme", "licenses", "premium")`) to the place of its key and of its value.
The walk is also where hostile input is stopped: duplicate keys, aliases that would
expand into millions of values, absurd nesting, huge numbers, unknown tags. Nothing
here raises for bad input; every problem becomes a diagnostic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from reconciler.diagnostics import Diagnostic, Position, error

# Desired-state files are small; these bounds only stop hostile or broken input.
MAX_NODES = 100_000  # values after alias expansion (an "alias bomb" expands to billions)
MAX_DEPTH = 50
MAX_NUMBER_CHARS = 20  # an integer longer than this is a typo or an attack, not a count
MAX_FILE_BYTES = 10 * 1024 * 1024

TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}

Path_ = tuple  # a path into the document: str keys and int indices


@dataclass
class Positions:
    """Where each path's key and value stand in one file (1-based lines and columns)."""

    file: str
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def _pos(self, line_col: tuple[int, int] | None) -> Position:
        if line_col is None:
            return Position(self.file)
        return Position(self.file, *line_col)

    def value(self, path: Path_) -> Position:
        """The value's place; for a path that is absent, the nearest present ancestor's."""
        path = tuple(path)
        while path and path not in self.values:
            path = path[:-1]
        return self._pos(self.values.get(path))

    def key(self, path: Path_) -> Position:
        """The key's place (where a human points at "this setting"); falls back to the value."""
        path = tuple(path)
        if path in self.keys:
            return self._pos(self.keys[path])
        return self.value(path)


@dataclass
class Document:
    data: object
    positions: Positions


class _Stop(Exception):
    """Raised inside the walk when the document cannot be read further."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def dotted(path: Path_) -> str:
    """A path as a user reads it: pbxes.acme.licenses.premium, contacts[0].email."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _mark(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(path: Path, display: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text, or the diagnostics that say why it cannot be read as YAML text."""
    where = Position(display)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [error(where, "schema", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [error(where, "schema", f"cannot read file: {exc.strerror or exc}")]
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in raw[:4] and len(raw) >= 4 and (
            raw[1:4:2] == b"\x00\x00" or raw[0:4:2] == b"\x00\x00")):
        return None, [error(where, "schema", "not UTF-8 text: the file is UTF-16 (save the file as UTF-8)")]
    if b"\x00" in raw:
        return None, [error(where, "schema", "binary file (it contains NUL bytes), not YAML text")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        return None, [
            error(Position(display, line, column), "schema",
                  f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)")
        ]
    return text, []


def is_blank(text: str) -> bool:
    """Nothing but white space and comments."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def parse(text: str, display: str) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML document; returns (document, diagnostics). The document is None when unreadable."""
    positions = Positions(display)
    if is_blank(text):
        return None, [error(Position(display), "schema", "file is empty: expected a mapping of settings")]
    problem = _control_character(text, display) or _flow_nesting_problem(text, display)
    if problem:
        return None, [problem]
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_error(exc, text, display)]
    except RecursionError:
        return None, [_deepest(text, display, yaml)]
    except (YAMLError, ValueError) as exc:
        return None, [error(Position(display), "schema", f"invalid YAML: {str(exc).splitlines()[0]}")]
    if root is None:
        return None, [error(Position(display), "schema", "file is empty: expected a mapping of settings")]

    diagnostics: list[Diagnostic] = []
    try:
        data = _Walker(positions, diagnostics, yaml).walk(root, (), depth=0)[0]
    except _Stop as stop:
        return None, [*diagnostics, stop.diagnostic]
    return Document(data, positions), diagnostics


def load(path: Path, display: str | None = None) -> tuple[Document | None, list[Diagnostic]]:
    display = display if display is not None else str(path)
    text, diagnostics = read_text(path, display)
    if text is None:
        return None, diagnostics
    return parse(text, display)


CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLON_NO_SPACE = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_-]+:[^\s:][^#]*?)\s*(?:#.*)?$")


def _control_character(text: str, display: str) -> Diagnostic | None:
    found = CONTROL.search(text)
    if not found:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return error(Position(display, line, column), "schema",
                 f"invalid YAML: control character U+{ord(found.group()):04X} is not allowed in YAML text")


def _syntax_error(exc: MarkedYAMLError, text: str, display: str) -> Diagnostic:
    """The parser's complaint in a partner's words, at the place to fix."""
    problem, context = exc.problem or "", exc.context or ""
    mark, context_mark = exc.problem_mark, exc.context_mark

    def at(m) -> Position:
        return Position(display, m.line + 1, m.column + 1) if m else Position(display)

    lines = text.splitlines()
    if "'\\t'" in problem:
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
    if problem.startswith("expected <block end>") and context_mark is not None:
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
                             f"invalid YAML: '{glued.group(1)}' needs a space after ':'")
            break
        return error(at(mark), "schema", "invalid YAML: unexpected ':' here (a value containing ': ' must be quoted)")
    text_ = f"{context}: {problem}" if context and problem else (problem or context or "invalid YAML")
    return error(at(mark or context_mark), "schema", f"invalid YAML: {text_}")


def _deepest(text: str, display: str, yaml) -> Diagnostic:
    """Where nesting first goes past MAX_DEPTH; the event parser is iterative, so it gets there safely."""
    depth = 0
    try:
        for event in yaml.parse(text):
            name = type(event).__name__
            if name in ("MappingStartEvent", "SequenceStartEvent"):
                depth += 1
                if depth > MAX_DEPTH + 1:  # the walker counts the top level as depth 0
                    mark = event.start_mark
                    return error(Position(display, mark.line + 1, mark.column + 1), "schema",
                                 f"nesting is too deep (more than {MAX_DEPTH} levels)")
            elif name in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
    except (YAMLError, RecursionError):
        pass
    return error(Position(display), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)")


def _flow_nesting_problem(text: str, display: str) -> Diagnostic | None:
    """Refuse absurd `[[[[...` nesting before the parser does: it slows down quadratically on it."""
    depth = 0
    quote = None
    line, column = 1, 0
    previous = "\n"
    comment = False
    for char in text:
        column += 1
        if char == "\n":
            line, column, comment, previous = line + 1, 0, False, char
            continue
        if comment:
            continue
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"" and previous in " \t\n[{,:":
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return error(Position(display, line, column), "schema",
                             f"nesting is too deep (more than {MAX_DEPTH} levels)")
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return None


class _Walker:
    """Turns the node graph into plain values, recording positions and stopping hostile input.

    An alias shares its anchor's node; the walker converts each node once and reuses the
    value, counting how many values the alias stands for. A "billion laughs" document is
    thus refused by arithmetic, without expanding anything.
    """

    def __init__(self, positions: Positions, diagnostics: list[Diagnostic], yaml):
        self.positions = positions
        self.diagnostics = diagnostics
        self.yaml = yaml
        self.expanded = 0
        self.done: dict[int, tuple[object, int]] = {}  # id(node) -> (value, values it stands for)
        self.active: set[int] = set()

    def _count(self, size: int, node) -> None:
        self.expanded += size
        if self.expanded > MAX_NODES:
            raise _Stop(error(self._where(node), "schema",
                              f"the document expands to more than {MAX_NODES} values "
                              "(YAML aliases repeating each other?): refusing to read it"))

    def _where(self, node) -> Position:
        return Position(self.positions.file, *_mark(node))

    def walk(self, node, path: Path_, depth: int) -> tuple[object, int]:
        """(value, number of values it expands to)."""
        if depth > MAX_DEPTH:
            raise _Stop(error(self._where(node), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)"))
        key = id(node)
        if key in self.active:  # an alias inside its own anchor; the alias node is the anchor's, so point at its key
            where = self.positions.key(path) if path in self.positions.keys else self._where(node)
            raise _Stop(error(where, "schema",
                              f"'{dotted(path)}' is an alias inside its own anchor (a recursive alias)"))
        if key in self.done:
            value, size = self.done[key]
            self._count(size, node)
            return value, size
        self.positions.values.setdefault(path, _mark(node))
        self._count(1, node)
        if isinstance(node, ScalarNode):
            return _scalar(node, path, self._where(node), self.yaml), 1
        self.active.add(key)
        if isinstance(node, MappingNode):
            value, size = self._mapping(node, path, depth)
        else:
            value, size = self._sequence(node, path, depth)
        self.active.discard(key)
        self.done[key] = (value, size)
        return value, size

    def _mapping(self, node: MappingNode, path: Path_, depth: int) -> tuple[dict, int]:
        if node.tag != TAG + "map":
            raise _Stop(error(self._where(node), "schema", f"unsupported YAML tag {_short(node.tag)}"))
        result: dict = {}
        size = 1
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            where = self._where(key_node)
            if key_node.tag == TAG + "merge":
                raise _Stop(error(where, "schema", "YAML merge keys ('<<') are not supported: write the settings out"))
            if not isinstance(key_node, ScalarNode):
                raise _Stop(error(where, "schema", "a key must be a plain scalar, not a list or mapping"))
            key = str(key_node.value)
            if key in first_seen:
                self.diagnostics.append(error(where, "schema",
                                              f"duplicate key '{key}' (first defined on line {first_seen[key]})"))
                continue
            first_seen[key] = where.line
            child = (*path, key)
            self.positions.keys[child] = (where.line, where.column)
            result[key], child_size = self.walk(value_node, child, depth + 1)
            size += child_size
        return result, size

    def _sequence(self, node: SequenceNode, path: Path_, depth: int) -> tuple[list, int]:
        if node.tag != TAG + "seq":
            raise _Stop(error(self._where(node), "schema", f"unsupported YAML tag {_short(node.tag)}"))
        result = []
        size = 1
        for index, item in enumerate(node.value):
            value, item_size = self.walk(item, (*path, index), depth + 1)
            result.append(value)
            size += item_size
        return result, size


def _short(tag: str) -> str:
    return "!!" + tag[len(TAG):] if tag.startswith(TAG) else tag


def _scalar(node: ScalarNode, path: Path_, where: Position, yaml):
    tag = node.tag
    if tag not in SCALAR_TAGS:
        raise _Stop(error(where, "schema", f"unsupported YAML tag {_short(tag)}: use plain values"))
    if tag == TAG + "str":
        return node.value
    if tag in (TAG + "int", TAG + "float") and len(node.value.replace("_", "")) > MAX_NUMBER_CHARS:
        raise _Stop(error(where, "schema", f"'{dotted(path)}' is {node.value[:12]}...: "
                                           f"a number of {len(node.value)} digits is too large"))
    try:
        value = yaml.constructor.construct_object(node, deep=True)
    except (ValueError, OverflowError, YAMLError) as exc:
        raise _Stop(error(where, "schema", f"cannot read value {node.value!r}: {exc}")) from None
    return value
