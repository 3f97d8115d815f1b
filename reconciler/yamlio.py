"""Read YAML into plain Python values while remembering where every key and value stands.

One reader: libyaml (PyYAML's C parser) turns the text into events; this module walks them
into dicts, lists and scalars, gives plain scalars their YAML 1.2 core meaning (`yes` is a
string, `0o17` is 15, `2026-01-31` a date) and records a `Positions` map from each path
(`("pbxes", "acme", "licenses", "premium")`) to the place of its key and of its value.
The walk is also where hostile input is stopped: duplicate keys, aliases that would expand
into millions of values, absurd nesting (checked as the events come, before anything is
built), huge numbers, unknown tags. Nothing here raises for bad input; every problem
becomes a diagnostic. Text decoding lives in `yamltext`, the wording of syntax errors in
`yamlerrors`, what a plain scalar means in `yamlcore`; ruamel.yaml is only for writing YAML back (export, fmt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from yaml import MarkedYAMLError, YAMLError
from yaml.cyaml import CParser
from yaml.events import (AliasEvent, DocumentStartEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent,
                         StreamEndEvent)
from yaml.reader import ReaderError

from reconciler.diagnostics import QUOTE_LIMIT, Diagnostic, Position, error, quoted
from reconciler.yamlcore import CONSTRUCT, FLOAT, INT, MAP, SEQ, STR, TAG, resolve
from reconciler.yamlerrors import cut, reader_error, syntax_error
from reconciler.yamltext import (MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, is_blank, precheck,  # noqa: F401
                                 read_file, read_text, too_many_values)

R = TypeVar("R")

MAX_NUMBER_CHARS = 20  # an integer longer than this is a typo or an attack, not a count


Path_ = tuple  # a path into the document: str keys and int indices


class Positions:
    """Where each path's key and value stand in one file (1-based lines and columns)."""

    def __init__(self, file: str, keys: dict | None = None, values: dict | None = None):
        self.file = file
        self.keys: dict[Path_, tuple[int, int]] = {} if keys is None else keys
        self.values: dict[Path_, tuple[int, int]] = {} if values is None else values

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


def dotted(path: Path_) -> str:
    """A path as a user reads it: pbxes.acme.licenses.premium, contacts[0].email."""
    text = ""
    for part in path:
        name = str(part) if len(str(part)) <= QUOTE_LIMIT else str(part)[:QUOTE_LIMIT] + "..."  # a key, not a file
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + name
    return text


def parse(text: str, display: str, max_nodes: int | None = MAX_NODES) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML document; returns (document, diagnostics). The document is None when unreadable.

    `max_nodes`: the most values the document may expand to (None: as many as its size
    allows; a snapshot of thousands of customers is large).
    """
    problem = precheck(text, display, max_nodes)
    if problem:
        return None, [problem]
    reader = _Reader(text, Positions(display), max(MAX_NODES, len(text)) if max_nodes is None else max_nodes)
    try:
        data = reader.document()
    except _Stop as stop:
        return None, [*reader.diagnostics, stop.diagnostic]
    except MarkedYAMLError as exc:
        return None, [syntax_error(exc, text, display)]
    except ReaderError as exc:
        return None, [reader_error(exc, text, display)]
    except YAMLError as exc:
        return None, [error(Position(display), "schema", f"invalid YAML: {cut(str(exc).splitlines()[0])}")]
    finally:
        reader.parser.dispose()
    return Document(data, reader.positions), reader.diagnostics


def parse_checked(text: str, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
                  max_nodes: int | None = MAX_NODES) -> tuple[R | None, list[Diagnostic]]:
    """Parse and `check` (bind, rules) the text: (`check`'s result or None, every diagnostic)."""
    document, diagnostics = parse(text, display, max_nodes=max_nodes)
    if document is None:
        return None, diagnostics
    result, problems = check(document)
    return result, diagnostics + problems


def load_checked(path: Path, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
                 max_bytes: int = MAX_FILE_BYTES, max_nodes: int | None = MAX_NODES) -> tuple[R | None, list[Diagnostic]]:
    """`parse_checked` on a file's text."""
    result, _, diagnostics = read_checked(path, display, check, max_bytes, max_nodes)
    return result, diagnostics


def read_checked(path: Path, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
                 max_bytes: int = MAX_FILE_BYTES, max_nodes: int | None = MAX_NODES
                 ) -> tuple[R | None, str | None, list[Diagnostic]]:
    """`load_checked`, with the content hash of the bytes read (None when the file could not be read)."""
    text, digest, diagnostics = read_file(path, display, max_bytes)
    if text is None:
        return None, digest, diagnostics
    result, diagnostics = parse_checked(text, display, check, max_nodes)
    return result, digest, diagnostics


def load(path: Path, display: str | None = None) -> tuple[Document | None, list[Diagnostic]]:
    display = display if display is not None else str(path)
    text, diagnostics = read_text(path, display)
    if text is None:
        return None, diagnostics
    return parse(text, display)


class _Stop(Exception):
    """Raised inside the walk when the document cannot be read further."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _mark(event) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


class _Reader:
    """Turns libyaml's events into plain values, recording positions and stopping hostile input.

    An alias repeats its anchor's value (the same object) and counts how many values it
    stands for: a "billion laughs" document is thus refused by arithmetic, without expanding
    anything. Nesting is judged as each collection opens, so no depth reaches the stack.
    """

    def __init__(self, text: str, positions: Positions, max_nodes: int):
        self.parser = CParser(text)
        self.positions = positions
        self.diagnostics: list[Diagnostic] = []
        self.max_nodes = max_nodes
        self.values = 0  # the document's own values
        self.expanded = 0  # what its aliases add: the alias budget
        self.anchors: dict[str, tuple[object, int, tuple[int, int]]] = {}  # name -> (value, values, where)
        self.active: dict[str, tuple[int, int]] = {}  # anchors whose collection is still open: name -> where

    def document(self):
        next_event = self.parser.get_event
        next_event(), next_event()  # the stream's start, the document's start (the text is not blank)
        data = self.value(next_event(), (), 0, True)[0]
        next_event()  # the document's end
        following = next_event()
        if isinstance(following, DocumentStartEvent):
            raise _Stop(error(self._where(following), "schema", "invalid YAML: more than one YAML document in the "
                                                               "file: keep one document (no '---' separator)"))
        assert isinstance(following, StreamEndEvent)
        return data

    def _where(self, event) -> Position:
        return Position(self.positions.file, *_mark(event))

    def _count(self, size: int, event, alias: bool = False) -> None:
        """Count `size` values at `event`: one of the document's own, or (`alias`) what an alias repeats.

        For an alias, `event` is the place of its anchor: the value that is repeated too often.
        """
        if not alias:
            self.values += size
            if self.values > self.max_nodes:
                raise _Stop(error(self._where(event), "schema", too_many_values(self.max_nodes)))
            return
        self.expanded += size
        if self.expanded > self.max_nodes:
            raise _Stop(error(Position(self.positions.file, *event), "schema",
                              f"the document's aliases expand to more than {self.max_nodes} values "
                              "(YAML aliases repeating each other?): refusing to read it"))

    def value(self, event, path: Path_, depth: int, record: bool) -> tuple[object, int]:
        """(value, number of values it expands to) of the node that starts with `event`.

        `record`: note its positions (not for the value of a duplicate key, which is left out).
        """
        if depth > MAX_DEPTH:
            raise _Stop(error(self._where(event), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)"))
        kind = type(event)
        if kind is AliasEvent:
            return self._alias(event, path, record)
        mark = event.start_mark
        if record:
            self.positions.values.setdefault(path, (mark.line + 1, mark.column + 1))
        self.values += 1
        if self.values > self.max_nodes:
            raise _Stop(error(self._where(event), "schema", too_many_values(self.max_nodes)))
        anchor = event.anchor
        if kind is ScalarEvent:
            value, size = _scalar(event, path, self), 1
        else:
            if anchor is not None:
                self.active[anchor] = _mark(event)
            if kind is MappingStartEvent:
                value, size = self._mapping(event, path, depth, record)
            else:
                value, size = self._sequence(event, path, depth, record)
            self.active.pop(anchor, None)
        if anchor is not None:
            self.anchors[anchor] = (value, size, _mark(event))
        return value, size

    def _alias(self, event, path: Path_, record: bool) -> tuple[object, int]:
        name = event.anchor
        if name in self.active:  # an alias inside its own anchor: point at its key
            where = self.positions.key(path) if path in self.positions.keys else Position(
                self.positions.file, *self.active[name])
            raise _Stop(error(where, "schema", f"'{dotted(path)}' is an alias inside its own anchor (a recursive alias)"))
        if name not in self.anchors:
            raise _Stop(error(self._where(event), "schema", f"invalid YAML: {cut(f'found undefined alias {name!r}')}"))
        value, size, where = self.anchors[name]
        if record:
            self.positions.values.setdefault(path, _mark(event))
        self._count(size, where, alias=True)
        return value, size

    def _collection_tag(self, event, kind: str) -> None:
        if event.tag is not None and event.tag not in ("!", kind):
            raise _Stop(error(self._where(event), "schema", f"unsupported YAML tag {_short(event.tag)}"))

    def _mapping(self, start, path: Path_, depth: int, record: bool) -> tuple[dict, int]:
        self._collection_tag(start, MAP)
        result: dict = {}
        size = 1
        first_seen: dict[str, int] = {}
        next_event, keys = self.parser.get_event, self.positions.keys
        while True:
            key_event = next_event()
            kind = type(key_event)
            if kind is not ScalarEvent and kind is not AliasEvent:
                if kind is MappingStartEvent or kind is SequenceStartEvent:
                    raise _Stop(error(self._where(key_event), "schema",
                                      "a key must be a plain scalar, not a list or mapping"))
                return result, size  # the mapping's end
            mark = key_event.start_mark
            line, column = mark.line + 1, mark.column + 1
            if kind is ScalarEvent and key_event.anchor is None and key_event.value != "<<":
                key = key_event.value
            else:
                key = self._key(key_event)
            if key in first_seen:
                if record:
                    self.diagnostics.append(error(Position(self.positions.file, line, column), "schema",
                                                  f"duplicate key '{key}' (first defined on line {first_seen[key]})"))
                self.value(next_event(), path, depth + 1, False)  # read past it; the first one stands
                continue
            first_seen[key] = line
            child = (*path, key)
            if record:
                keys[child] = (line, column)
            result[key], child_size = self.value(next_event(), child, depth + 1, record)
            size += child_size

    def _key(self, event) -> str:
        """The key an alias, an anchored scalar or `<<` stands for (a plain key is its text)."""
        where = self._where(event)
        if isinstance(event, AliasEvent):
            found = self.anchors.get(event.anchor)
            if found is None or isinstance(found[0], (dict, list)):
                raise _Stop(error(where, "schema", "a key must be a plain scalar, not a list or mapping")
                            if found else error(where, "schema",
                                                f"invalid YAML: {cut(f'found undefined alias {event.anchor!r}')}"))
            self._count(1, found[2], alias=True)
            return str(found[0])
        if event.tag is None and event.implicit[0] and event.value == "<<":
            raise _Stop(error(where, "schema", "YAML merge keys ('<<') are not supported: write the settings out"))
        if event.anchor is not None:
            self.anchors[event.anchor] = (event.value, 1, _mark(event))
        return event.value

    def _sequence(self, start, path: Path_, depth: int, record: bool) -> tuple[list, int]:
        self._collection_tag(start, SEQ)
        result = []
        size = 1
        next_event = self.parser.get_event
        while True:
            event = next_event()
            if type(event) not in _NODE_EVENTS:
                return result, size  # the sequence's end
            value, item_size = self.value(event, (*path, len(result)), depth + 1, record)
            result.append(value)
            size += item_size


def _short(tag: str) -> str:
    return "!!" + tag[len(TAG):] if tag.startswith(TAG) else tag


_NODE_EVENTS = frozenset((ScalarEvent, AliasEvent, MappingStartEvent, SequenceStartEvent))


def _scalar(event, path: Path_, reader: _Reader):
    value, tag = event.value, event.tag
    if tag is None:
        tag = resolve(value) if event.implicit[0] else STR
    elif tag == "!":
        tag = STR
    if tag == STR:
        return value
    if tag in (INT, FLOAT) and len(value.replace("_", "")) > MAX_NUMBER_CHARS:
        raise _Stop(error(reader._where(event), "schema", f"'{dotted(path)}' is {value[:12]}...: "
                                           f"a number of {len(value)} digits is too large"))
    construct = CONSTRUCT.get(tag)
    if construct is None:
        raise _Stop(error(reader._where(event), "schema", f"unsupported YAML tag {_short(tag)}: use plain values"))
    try:
        return construct(value)
    except (ValueError, OverflowError, KeyError, IndexError) as exc:
        raise _Stop(error(reader._where(event), "schema", f"cannot read value {quoted(value)}: {exc}")) from None
