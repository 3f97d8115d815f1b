"""Read YAML into plain Python values while remembering where every key and value stands.

ruamel.yaml composes the node graph (each node keeps its line and column); this module
walks it into dicts, lists and scalars and records a `Positions` map from each path
(`("pbxes", "acme", "licenses", "premium")`) to the place of its key and of its value.
The walk is also where hostile input is stopped: duplicate keys, aliases that would
expand into millions of values, absurd nesting, huge numbers, unknown tags. Nothing
here raises for bad input; every problem becomes a diagnostic.

That exact path is pure Python. Most files are plain and valid, so `parse` first tries a
fast path (libyaml's C parser, at the end of this module) that gives the same data and defers
the positions until someone asks for them (then from libyaml's marks, which are the exact
path's, or from the exact path itself). The fast path gives up on anything unusual (aliases
of collections, tags, merge keys, duplicate keys, what YAML 1.1 and 1.2 read differently,
any syntax error), and `parse_checked` re-reads on the exact path any file in which anything
is found, so every message and position is the exact path's. Many files, or one big
snapshot cut into pieces, are read on all cores (`map_parts`).
"""

from __future__ import annotations

import gc
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from reconciler.diagnostics import QUOTE_LIMIT, Diagnostic, Position, error, quoted

R = TypeVar("R")

# Desired-state files are small; these bounds only stop hostile or broken input.
MAX_NODES = 100_000  # values after alias expansion (an "alias bomb" expands to billions)
MAX_DEPTH = 50
MAX_NUMBER_CHARS = 20  # an integer longer than this is a typo or an attack, not a count
MAX_FILE_BYTES = 10 * 1024 * 1024

TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}

Path_ = tuple  # a path into the document: str keys and int indices


class Positions:
    """Where each path's key and value stand in one file (1-based lines and columns).

    `Positions.deferred(file, text)` knows them only when asked: the first use reads the
    text again, recording them (a fast-path document records no positions while it is read).
    """

    def __init__(self, file: str, keys: dict | None = None, values: dict | None = None):
        self.file = file
        self._keys: dict[Path_, tuple[int, int]] | None = {} if keys is None else keys
        self._values: dict[Path_, tuple[int, int]] | None = {} if values is None else values
        self._text: str | None = None

    @classmethod
    def deferred(cls, file: str, text: str) -> "Positions":
        positions = cls(file)
        positions._keys = positions._values = None
        positions._text = text
        return positions

    def _resolve(self) -> None:
        """Read the text again for its positions: with libyaml's marks, else on the exact path."""
        text, self._text = self._text, None
        self._keys, self._values = {}, {}
        if fast_load(text, self._keys, self._values) is not UNUSUAL:
            return
        document = parse(text, self.file, exact=True, max_nodes=None)[0]
        if document is not None:
            self._keys, self._values = document.positions.keys, document.positions.values

    @property
    def keys(self) -> dict[Path_, tuple[int, int]]:
        if self._keys is None:
            self._resolve()
        return self._keys

    @property
    def values(self) -> dict[Path_, tuple[int, int]]:
        if self._values is None:
            self._resolve()
        return self._values

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
    exact: bool = True  # read on the exact path (ruamel.yaml); False: the fast path, positions deferred


class _Stop(Exception):
    """Raised inside the walk when the document cannot be read further."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def dotted(path: Path_) -> str:
    """A path as a user reads it: pbxes.acme.licenses.premium, contacts[0].email."""
    text = ""
    for part in path:
        name = str(part) if len(str(part)) <= QUOTE_LIMIT else str(part)[:QUOTE_LIMIT] + "..."  # a key, not a file
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + name
    return text


def _mark(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(path: Path, display: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, list[Diagnostic]]:
    """The file's text, or the diagnostics that say why it cannot be read as YAML text."""
    where = Position(display)
    limit = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    too_large = [error(where, "schema", f"file is larger than {limit}")]
    special = [error(where, "schema", "not a regular file (a directory, a FIFO or a device): not read")]
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):  # a FIFO or /dev/zero would hang the tool or never end
            return None, special
        if found.st_size > max_bytes:
            return None, too_large
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:  # swapped for a FIFO: no wait
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, special
            raw = handle.read(max_bytes + 1)  # never more than the limit and one byte, if the file grew
    except OSError as exc:
        return None, [error(where, "schema", f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > max_bytes:
        return None, too_large
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


def parse(text: str, display: str, exact: bool = False, max_nodes: int | None = MAX_NODES,
          split: str | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML document; returns (document, diagnostics). The document is None when unreadable.

    `exact`: skip the fast path. `max_nodes`: the most values the document may expand to
    (None: as many as its size allows; a snapshot of thousands of customers is large).
    `split`: a top-level key whose entries the fast path may read in pieces, in parallel.
    """
    if is_blank(text):
        return None, [error(Position(display), "schema", "file is empty: expected a mapping of settings")]
    problem = (_control_character(text, display) or _flow_nesting_problem(text, display)
               or (max_nodes is not None and _too_many_values(text, display, max_nodes)))
    if problem:
        return None, [problem]
    if not exact and (max_nodes is None or len(text) <= 2 * max_nodes):  # (a value takes two characters or more)
        data = fast_load_split(text, split) if split else fast_load(text)
        if data is not UNUSUAL:
            return Document(data, Positions.deferred(display, text), exact=False), []
    return _parse_exact(text, display, max_nodes if max_nodes is not None else max(MAX_NODES, len(text)))


def parse_checked(text: str, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
                  max_nodes: int | None = MAX_NODES, split: str | None = None) -> tuple[R | None, list[Diagnostic]]:
    """Parse and `check` (bind, rules) the text; when anything is found, all over again on the exact path.

    `check` returns (result or None, its diagnostics). A file with no diagnostic keeps the
    fast path's reading; any other gets exactly the messages and positions of the exact path.
    """
    document, diagnostics = parse(text, display, max_nodes=max_nodes, split=split)
    if document is not None and not document.exact and not diagnostics:
        result, problems = check(document)
        if not problems:
            return result, []
        document, diagnostics = parse(text, display, exact=True, max_nodes=max_nodes)
    if document is None:
        return None, diagnostics
    result, problems = check(document)
    return result, diagnostics + problems


def load_checked(path: Path, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
                 max_bytes: int = MAX_FILE_BYTES, max_nodes: int | None = MAX_NODES,
                 split: str | None = None) -> tuple[R | None, list[Diagnostic]]:
    """`parse_checked` on a file's text."""
    text, diagnostics = read_text(path, display, max_bytes)
    if text is None:
        return None, diagnostics
    return parse_checked(text, display, check, max_nodes, split)


def _parse_exact(text: str, display: str, max_nodes: int) -> tuple[Document | None, list[Diagnostic]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    positions = Positions(display)
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_error(exc, text, display)]
    except RecursionError:
        return None, [_deepest(text, display, yaml)]
    except (YAMLError, ValueError) as exc:
        return None, [error(Position(display), "schema", f"invalid YAML: {_cut(str(exc).splitlines()[0])}")]
    if root is None:
        return None, [error(Position(display), "schema", "file is empty: expected a mapping of settings")]

    diagnostics: list[Diagnostic] = []
    try:
        data = _Walker(positions, diagnostics, yaml, max_nodes).walk(root, (), depth=0)[0]
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


def too_many_values(max_nodes: int) -> str:
    return f"too many values: the document has more than {max_nodes} (a desired-state file has far fewer): " \
           "refusing to read it"


def _too_many_values(text: str, display: str, max_nodes: int) -> Diagnostic | None:
    """Refuse, in a fraction of a second, a document that certainly holds more than `max_nodes` values.

    libyaml counts the document's events without building anything. Each value is one event,
    a mapping or a list one more (its end), an alias one, plus four for the stream and the
    document: so the values are at least half of what remains once the aliases (at most one per
    `*`) are taken away. Anything the count cannot say is left to the exact path.
    """
    if len(text) <= 2 * max_nodes:  # a value takes two characters or more: it cannot hold more
        return None
    try:
        from yaml._yaml import CParser

        events = CParser(text).raw_parse()
    except Exception:  # no libyaml, or a syntax error: the exact path says it in a partner's words
        return None
    if (events - 4 - text.count("*")) / 2 > max_nodes:
        return error(Position(display), "schema", too_many_values(max_nodes))
    return None


def _control_character(text: str, display: str) -> Diagnostic | None:
    found = CONTROL.search(text)
    if not found:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return error(Position(display, line, column), "schema",
                 f"invalid YAML: control character U+{ord(found.group()):04X} is not allowed in YAML text")


def _syntax_error(exc, text: str, display: str) -> Diagnostic:
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
                             f"invalid YAML: {quoted(glued.group(1))} needs a space after ':'")
            break
        return error(at(mark), "schema", "invalid YAML: unexpected ':' here (a value containing ': ' must be quoted)")
    text_ = f"{context}: {problem}" if context and problem else (problem or context or "invalid YAML")
    return error(at(mark or context_mark), "schema", f"invalid YAML: {_cut(text_)}")


def _cut(message: str, limit: int = 4 * QUOTE_LIMIT) -> str:
    """The parser's own words, which may quote the input (an alias name, a token): cut when long."""
    return message if len(message) <= limit else message[:limit] + "..."


def _deepest(text: str, display: str, yaml) -> Diagnostic:
    """Where nesting first goes past MAX_DEPTH; the event parser is iterative, so it gets there safely."""
    from ruamel.yaml.error import YAMLError

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


FLOW_SPECIAL = re.compile(r"['\"#\[\]{}]")


def _flow_nesting_problem(text: str, display: str) -> Diagnostic | None:
    """Refuse absurd `[[[[...` nesting before the parser does: it slows down quadratically on it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    index = _too_deep_at(text)
    if index is None:
        return None
    line, column = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    return error(Position(display, line, column), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)")


def _too_deep_at(text: str) -> int | None:
    """Where flow nesting first goes past MAX_DEPTH, outside quotes and comments; None if it never does.

    The scan jumps from one special character to the next: a quote opens a string only after
    a space, a line start or a flow indicator, and `#` a comment only after a space or a line start.
    """
    depth = 0
    search, position = FLOW_SPECIAL.search, 0
    while True:
        found = search(text, position)
        if found is None:
            return None
        index = found.start()
        char = text[index]
        previous = text[index - 1] if index else "\n"
        position = index + 1
        if char in "'\"":
            if previous in " \t\n[{,:":
                end = text.find(char, position)
                if end < 0:
                    return None
                position = end + 1
        elif char == "#":
            if previous in " \t\n":
                end = text.find("\n", position)
                if end < 0:
                    return None
                position = end + 1
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        else:
            depth = max(0, depth - 1)


class _Walker:
    """Turns the node graph into plain values, recording positions and stopping hostile input.

    An alias shares its anchor's node; the walker converts each node once and reuses the
    value, counting how many values the alias stands for. A "billion laughs" document is
    thus refused by arithmetic, without expanding anything.
    """

    def __init__(self, positions: Positions, diagnostics: list[Diagnostic], yaml, max_nodes: int = MAX_NODES):
        self.positions = positions
        self.diagnostics = diagnostics
        self.yaml = yaml
        self.max_nodes = max_nodes
        self.values = 0  # the document's own values
        self.expanded = 0  # what its aliases add: the alias budget
        self.done: dict[int, tuple[object, int]] = {}  # id(node) -> (value, values it stands for)
        self.active: set[int] = set()

    def _count(self, size: int, node, alias: bool = False) -> None:
        """Count `size` values at `node`: one of the document's own, or (`alias`) what an alias repeats."""
        if not alias:
            self.values += size
            if self.values > self.max_nodes:
                raise _Stop(error(self._where(node), "schema", too_many_values(self.max_nodes)))
            return
        self.expanded += size
        if self.expanded > self.max_nodes:
            raise _Stop(error(self._where(node), "schema",
                              f"the document's aliases expand to more than {self.max_nodes} values "
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
            self._count(size, node, alias=True)
            return value, size
        self.positions.values.setdefault(path, _mark(node))
        self._count(1, node)
        if node.id == "scalar":
            return _scalar(node, path, self._where(node), self.yaml), 1
        self.active.add(key)
        if node.id == "mapping":
            value, size = self._mapping(node, path, depth)
        else:
            value, size = self._sequence(node, path, depth)
        self.active.discard(key)
        self.done[key] = (value, size)
        return value, size

    def _mapping(self, node, path: Path_, depth: int) -> tuple[dict, int]:
        if node.tag != TAG + "map":
            raise _Stop(error(self._where(node), "schema", f"unsupported YAML tag {_short(node.tag)}"))
        result: dict = {}
        size = 1
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            where = self._where(key_node)
            if key_node.tag == TAG + "merge":
                raise _Stop(error(where, "schema", "YAML merge keys ('<<') are not supported: write the settings out"))
            if key_node.id != "scalar":
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

    def _sequence(self, node, path: Path_, depth: int) -> tuple[list, int]:
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


def _scalar(node, path: Path_, where: Position, yaml):
    from ruamel.yaml.error import YAMLError

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
        raise _Stop(error(where, "schema", f"cannot read value {quoted(node.value)}: {exc}")) from None
    return value


# The fast path: libyaml (PyYAML's C parser) composes the nodes; a small resolver gives plain
# scalars the meaning ruamel.yaml gives them (YAML 1.2), in tags of its own; anything it is
# not sure of is UNUSUAL and sends the whole file to the exact path.

UNUSUAL = object()
_STR, _INT, _NULL, _BOOL, _DATE, _ODD = (f"fast:{kind}" for kind in ("str", "int", "null", "bool", "date", "odd"))
_MAP, _SEQ = "fast:map", "fast:seq"
_WORDS = {**dict.fromkeys(("", "~", "null", "Null", "NULL"), _NULL),
          **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), _BOOL)}
_SPECIAL_FIRST = frozenset("0123456789+-.=<!&*")  # a plain scalar starting so may be a number, a date...
_INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]{0,%d})" % (MAX_NUMBER_CHARS - 2))
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What YAML 1.2 (ruamel.yaml) may read as a number, a timestamp or a special tag, and is not simple.
_ODD_TEXT = re.compile(r"[-+]?[0-9_.]*(?:[eE][-+]?[0-9]+)?|[-+]?0[xob][0-9a-fA-F_]+|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)"
                       r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?|<<|=|!|&|\*", re.S)
_fast_parser = None


def _fast_parser_class():
    """A libyaml parser with the fast resolver, or None when PyYAML has no libyaml."""
    global _fast_parser
    if _fast_parser is None:
        try:
            from yaml._yaml import CParser
            from yaml.nodes import ScalarNode
        except ImportError:
            _fast_parser = False
            return False

        class _Parser(CParser):
            def descend_resolver(self, parent, index):
                pass

            def ascend_resolver(self):
                pass

            def resolve(self, kind, value, implicit):
                if kind is not ScalarNode:
                    return _MAP if kind.id == "mapping" else _SEQ
                if not implicit[0]:
                    return _STR if implicit[1] else _ODD  # quoted; neither: a '!' tag
                tag = _WORDS.get(value)
                if tag is not None:
                    return tag
                if value[0] not in _SPECIAL_FIRST:
                    return _STR
                if _INT_TEXT.fullmatch(value):
                    return _INT
                if _DATE_TEXT.fullmatch(value):
                    return _DATE
                return _ODD if _ODD_TEXT.fullmatch(value) else _STR

        _fast_parser = _Parser
    return _fast_parser


class _Unusual(Exception):
    pass


def fast_load(text: str, keys: dict | None = None, values: dict | None = None, depth: int = 0):
    """The document's data, as the exact path reads it; UNUSUAL when the exact path must read it.

    With `keys` and `values` it records the positions too, as the exact path does.
    `depth`: how deep the text's top level stands in a larger document.
    """
    parser_class = _fast_parser_class()
    if not parser_class or text.startswith("%") or "\n%" in text or any(c in text for c in "\x85\u2028\u2029"):
        return UNUSUAL  # a directive (YAML 1.1?), or what YAML 1.1 (libyaml) reads as a line break and 1.2 does not
    parser = parser_class(text)
    try:
        root = parser.get_single_node()
        return UNUSUAL if root is None else _fast_value(root, depth, set(), (), keys, values)
    except (_Unusual, RecursionError):
        return UNUSUAL
    except Exception:  # a syntax error, an undefined alias...: the exact path says it in a partner's words
        return UNUSUAL
    finally:
        parser.dispose()


def _fast_value(node, depth: int, seen: set, path: Path_, keys: dict | None, values: dict | None):
    if values is not None:
        mark = node.start_mark
        values.setdefault(path, (mark.line + 1, mark.column + 1))
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _INT:
        return int(node.value)
    if tag == _MAP:
        if depth >= MAX_DEPTH or id(node) in seen:  # too deep, or an alias: the exact path judges it
            raise _Unusual
        seen.add(id(node))
        result = {}
        for key_node, value_node in node.value:
            if key_node.tag not in _KEY_TAGS:
                raise _Unusual
            key = key_node.value
            if key in result:
                raise _Unusual
            child = None
            if keys is not None:
                child = (*path, key)
                mark = key_node.start_mark
                keys[child] = (mark.line + 1, mark.column + 1)
            result[key] = _fast_value(value_node, depth + 1, seen, child, keys, values)
        return result
    if tag == _SEQ:
        if depth >= MAX_DEPTH or id(node) in seen:
            raise _Unusual
        seen.add(id(node))
        if values is None:
            return [_fast_value(item, depth + 1, seen, None, None, None) for item in node.value]
        return [_fast_value(item, depth + 1, seen, (*path, index), keys, values)
                for index, item in enumerate(node.value)]
    if tag == _NULL:
        if values is not None and not node.value:  # an empty value: libyaml marks its key's line, ruamel the next token
            raise _Unusual
        return None
    if tag == _BOOL:
        return node.value[0] in "tT"
    if tag == _DATE:
        import datetime

        value = node.value
        try:
            return datetime.date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            raise _Unusual from None
    raise _Unusual


_KEY_TAGS = frozenset((_STR, _INT, _NULL, _BOOL, _DATE))


# Both cores: many files, or one big file cut into pieces of whole entries, are read in
# worker processes (forked: they start with everything imported). Few files are read
# here, so a one-customer run pays nothing for it.

PARALLEL_MIN_ITEMS = 500
SPLIT_MIN_BYTES = 1024 * 1024
PIECE_BYTES = 256 * 1024


@contextmanager
def paused_gc(keep: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside: reading thousands of files makes millions of objects and no cycles.

    Each full collection walks every object alive, and while a big repo loads the young
    generation fills again and again: collecting cost more than parsing. Plain data and
    models hold no reference cycles; reference counting frees them all the same.
    `keep`: what was loaded lives as long as the run (a big repo or snapshot): exempt it
    from later collections too (gc.freeze), so that planning and printing do not walk it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if enabled:
            gc.enable()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def map_parts(func: Callable[[list], list], items: list, min_items: int = PARALLEL_MIN_ITEMS,
              advance: Callable[[], None] | None = None) -> list:
    """`func(items)` (a list of one result per item, in order), shared between the cores when there are many items.

    `func` must be a module-level function (or a partial of one): the workers are forked.
    This process takes the first share itself while the others work on the rest.
    `advance`: called once per item done (a progress bar), as the parts come back.
    """
    workers = min(cores(), len(items) // max(1, min_items // 2) or 1)
    context = None
    if len(items) >= min_items and workers >= 2:
        import multiprocessing

        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # no fork (Windows; macOS by default): one process
            pass
    if context is None and advance is None:
        return func(items)
    size = max(1, -(-len(items) // (workers * 8)))  # eight parts per process: the bar moves, the load evens out
    parts = [items[start:start + size] for start in range(0, len(items), size)]
    mine = parts if context is None else parts[:-(-len(parts) // workers)]
    results: list = []

    def take(part: list, done: list) -> None:
        results.extend(done)
        for _ in part if advance else ():
            advance()

    if context is None:
        for part in mine:
            take(part, func(part))
        return results
    with context.Pool(workers - 1) as pool:
        theirs = pool.imap(func, parts[len(mine):])
        for part in mine:
            take(part, func(part))
        for part, done in zip(parts[len(mine):], theirs):
            take(part, done)
    return results


def fast_load_split(text: str, key: str):
    """`fast_load`, reading the entries of the top-level block mapping `key` in pieces, in parallel when large."""
    cut = _split_block(text, key) if len(text) >= SPLIT_MIN_BYTES else None
    if cut is None:
        return fast_load(text)
    head, pieces = cut
    data = fast_load(head)
    if not isinstance(data, dict) or key not in data or data[key] is not None:
        return fast_load(text)
    entries: dict = {}
    for part in map_parts(_fast_load_pieces, pieces, min_items=2):
        if not isinstance(part, dict) or not part.keys().isdisjoint(entries):  # a duplicate key: the whole text says
            return fast_load(text)
        entries.update(part)
    data[key] = entries
    return data


def _fast_load_pieces(pieces: list[str]) -> list:
    return [fast_load(piece, depth=1) for piece in pieces]


_TOP_LINE = re.compile(r"^(?! |\t|#|\r?$)", re.M)  # a line that starts a top-level key (or '---', '...')


def _split_block(text: str, key: str) -> tuple[str, list[str]] | None:
    """(the text with the body of `key:` left out, the body in pieces of whole entries); None if not that simple.

    Each piece starts at an entry's key (a line at the entries' indentation); a cut that
    falls inside a multi-line value leaves an unclosed piece, which the parser refuses.
    """
    found = re.search(r"^%s:[ \t]*(?:#[^\n]*)?\r?\n" % re.escape(key), text, re.M)
    if found is None:
        return None
    start = found.end()
    following = _TOP_LINE.search(text, start)
    end = following.start() if following else len(text)
    body = text[start:end]
    first = re.search(r"^( +)[^ #\r\n]", body, re.M)
    if first is None or body[first.end() - 1] in "-?":
        return None
    entry = re.compile(r"^%s[^ #\r\n]" % first.group(1), re.M)
    pieces, piece_start = [], 0
    for match in entry.finditer(body, first.start() + PIECE_BYTES):
        if match.start() >= piece_start + PIECE_BYTES:
            pieces.append(body[piece_start:match.start()])
            piece_start = match.start()
    pieces.append(body[piece_start:])
    return text[:start] + text[end:], pieces
