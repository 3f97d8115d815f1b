"""Read YAML into plain Python values while remembering where every key and value stands.

One reader: libyaml (PyYAML's C parser) turns the text into events; this module walks them
into dicts, lists and scalars, gives plain scalars their YAML 1.2 core meaning (`yes` is a
string, `0o17` is 15, `2026-01-31` a date) and records `Positions` (reconciler.positions):
for each path (`("pbxes", "acme", "licenses", "premium")`) the place of its key and of its value.
The walk is also where hostile input is stopped: duplicate keys, aliases that would expand
into millions of values, absurd nesting (checked as the events come, before anything is
built), huge numbers, unknown tags. Nothing here raises for bad input; every problem
becomes a diagnostic. Text decoding lives in `yamltext`, the wording of syntax errors in
`yamlerrors`, what a plain scalar means in `yamlcore`; ruamel.yaml is only for writing YAML back (export, fmt).
"""

from __future__ import annotations

from dataclasses import dataclass
from sys import intern
from pathlib import Path
from typing import Callable, TypeVar

from yaml import MarkedYAMLError, YAMLError
from yaml.cyaml import CParser
from yaml.events import (AliasEvent, DocumentStartEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent,
                         StreamEndEvent)
from yaml.reader import ReaderError

from reconciler.diagnostics import QUOTE_LIMIT, Diagnostic, Position, error, quoted
from reconciler.positions import COLUMN_BITS, Path_, Positions, arrays, line_column, pack
from reconciler.yamlcore import (CONSTRUCT, FLOAT, INT, MAP, MAX_NUMBER_CHARS, RESOLVABLE, SEQ, STR, TAG, UNREADABLE,
                                 plain, resolve)
from reconciler.yamlerrors import cut, reader_error, syntax_error
from reconciler.yamltext import (MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, is_blank, precheck,  # noqa: F401
                                 read_file, read_text, too_many_values)

R = TypeVar("R")


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
    reader = _Reader(text, display, max(MAX_NODES, len(text)) if max_nodes is None else max_nodes)
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
    return Document(data, Positions(display, nodes=(reader.names, reader.marks, reader.sizes))), reader.diagnostics


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


def read_checked(path: str | Path, display: str, check: Callable[[Document], tuple[R | None, list[Diagnostic]]],
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


_NODE_EVENTS = frozenset((ScalarEvent, AliasEvent, MappingStartEvent, SequenceStartEvent))


class _Reader:
    """Turns libyaml's events into plain values, recording positions and stopping hostile input.

    Most values are plain scalars: the mapping and sequence loops read them in place (no call,
    no path built; a path is made only for a collection or an error message) and append each
    node to the flat arrays of reconciler.positions (its key, two packed places, its size). An alias repeats its anchor's value (the
    same object) and counts how many values it stands for: a "billion laughs" document is thus
    refused by arithmetic, without expanding anything. Nesting is judged as each collection
    opens, so no depth reaches the stack.
    """

    def __init__(self, text: str, file: str, max_nodes: int):
        self.parser = CParser(text)
        self.file = file
        self.names, self.marks, self.sizes = arrays()  # every node, as reconciler.positions keeps them
        self.diagnostics: list[Diagnostic] = []
        self.max_nodes = max_nodes
        self.values = 0  # the document's own values
        self.expanded = 0  # what its aliases add: the alias budget
        self.anchors: dict[str, tuple[object, int, tuple[int, int]]] = {}  # name -> (value, values, where)
        self.active: dict[str, tuple[int, int]] = {}  # anchors whose collection is still open: name -> where

    def document(self):
        next_event = self.parser.get_event
        next_event(), next_event()  # the stream's start, the document's start (the text is not blank)
        event = next_event()
        at = pack(event.start_mark.line, event.start_mark.column)
        self.names.append(None), self.marks.extend((at, at)), self.sizes.append(1)
        data, _ = self.node(event, (), 0, True, None)
        self.sizes[0] = len(self.sizes)
        next_event()  # the document's end
        following = next_event()
        if isinstance(following, DocumentStartEvent):
            raise _Stop(error(self._where(following), "schema", "invalid YAML: more than one YAML document in the "
                                                               "file: keep one document (no '---' separator)"))
        assert isinstance(following, StreamEndEvent)
        return data

    def _where(self, event) -> Position:
        return Position(self.file, *_mark(event))

    def _too_many(self, event) -> _Stop:
        return _Stop(error(self._where(event), "schema", too_many_values(self.max_nodes)))

    def _count_alias(self, size: int, where: tuple[int, int]) -> None:
        """Count the `size` values an alias repeats; `where` is its anchor, the value repeated too often."""
        self.expanded += size
        if self.expanded > self.max_nodes:
            raise _Stop(error(Position(self.file, *where), "schema",
                              f"the document's aliases expand to more than {self.max_nodes} values "
                              "(YAML aliases repeating each other?): refusing to read it"))

    def node(self, event, path: Path_, depth: int, record: bool, key_at: int | None) -> tuple[object, int]:
        """(value, number of values it expands to) of the node that starts with `event`.

        The caller has recorded the node itself; this records what it holds. `record`: report
        duplicate keys inside (not in the value of a duplicate key, which is left out);
        `key_at`: the packed place of its key, when it is the recorded value of one.
        """
        if depth > MAX_DEPTH:
            raise _Stop(error(self._where(event), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)"))
        kind = type(event)
        if kind is AliasEvent:
            return self._alias(event, path, key_at)
        self.values += 1
        if self.values > self.max_nodes:
            raise self._too_many(event)
        anchor = event.anchor
        if kind is ScalarEvent:
            value, size = self._scalar(event, path), 1
        else:
            if anchor is not None:
                self.active[anchor] = _mark(event)
            if kind is MappingStartEvent:
                value, size = self._mapping(event, path, depth, record, key_at)
            else:
                value, size = self._sequence(event, path, depth, record)
            self.active.pop(anchor, None)
        if anchor is not None:
            self.anchors[anchor] = (value, size, _mark(event))
        return value, size

    def _alias(self, event, path: Path_, key_at: int | None) -> tuple[object, int]:
        name = event.anchor
        if name in self.active:  # an alias inside its own anchor: point at its key
            where = Position(self.file, *line_column(key_at)) if key_at is not None else Position(
                self.file, *self.active[name])
            raise _Stop(error(where, "schema", f"'{dotted(path)}' is an alias inside its own anchor (a recursive alias)"))
        if name not in self.anchors:
            raise _Stop(error(self._where(event), "schema", f"invalid YAML: {cut(f'found undefined alias {name!r}')}"))
        value, size, where = self.anchors[name]
        self._count_alias(size, where)
        return value, size

    def _collection_tag(self, event, kind: str) -> None:
        if event.tag is not None and event.tag not in ("!", kind):
            raise _Stop(error(self._where(event), "schema", f"unsupported YAML tag {_short(event.tag)}"))

    def _mapping(self, start, path: Path_, depth: int, record: bool, key_at: int | None) -> tuple[dict, int]:
        self._collection_tag(start, MAP)
        result: dict = {}
        size = 1
        own = len(self.sizes) - 1  # the mapping's node, recorded by the caller
        seen = None  # key -> line of its first definition, made at the first duplicate key
        names, marks, sizes = self.names, self.marks, self.sizes
        add_name, add_mark, add_size = names.append, marks.append, sizes.append
        next_event, limit, fast = self.parser.get_event, self.max_nodes, depth < MAX_DEPTH
        while True:
            key_event = next_event()
            kind = type(key_event)
            if kind is ScalarEvent and key_event.anchor is None and key_event.value != "<<":
                key = intern(key_event.value)
            elif kind is ScalarEvent or kind is AliasEvent:
                key = self._key(key_event)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                raise _Stop(error(self._where(key_event), "schema", "a key must be a plain scalar, not a list or mapping"))
            else:
                return result, size  # the mapping's end
            mark = key_event.start_mark
            at = mark.line << COLUMN_BITS | mark.column
            event = next_event()
            if key in result:
                if record:
                    seen = self._first_lines(own) if seen is None else seen
                    self.diagnostics.append(error(Position(self.file, mark.line + 1, mark.column + 1), "schema",
                                                  f"duplicate key '{key}' (first defined on line {seen[key]})"))
                kept = len(sizes)
                self.node(event, path, depth + 1, False, key_at)  # read past it; the first one stands
                del names[kept:], marks[2 * kept:], sizes[kept:]
                continue
            if seen is not None:
                seen[key] = mark.line + 1
            mark = event.start_mark
            add_name(key)
            add_mark(at)
            add_mark(mark.line << COLUMN_BITS | mark.column)
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None and fast:
                add_size(1)
                self.values += 1
                if self.values > limit:
                    raise self._too_many(event)
                text = event.value
                if event.implicit[0] and text[:1] in RESOLVABLE:
                    text = plain(text)
                    if text is UNREADABLE:
                        self._scalar(event, (*path, key))  # says why
                result[key] = text
                size += 1
            else:
                node = len(sizes)
                add_size(1)
                result[key], child_size = self.node(event, (*path, key), depth + 1, record, at if record else None)
                sizes[node] = len(sizes) - node
                size += child_size

    def _first_lines(self, mapping: int) -> dict[str, int]:
        """Each key read so far in the (still open) mapping at node `mapping`: the line where it stands."""
        names, marks, sizes = self.names, self.marks, self.sizes
        lines, child = {}, mapping + 1
        while child < len(sizes):
            lines[names[child]] = (marks[2 * child] >> COLUMN_BITS) + 1
            child += sizes[child]
        return lines

    def _key(self, event) -> str:
        """The key an alias, an anchored scalar or `<<` stands for (a plain key is its text)."""
        where = self._where(event)
        if isinstance(event, AliasEvent):
            found = self.anchors.get(event.anchor)
            if found is None or isinstance(found[0], (dict, list)):
                raise _Stop(error(where, "schema", "a key must be a plain scalar, not a list or mapping")
                            if found else error(where, "schema",
                                                f"invalid YAML: {cut(f'found undefined alias {event.anchor!r}')}"))
            self._count_alias(1, found[2])
            return str(found[0])
        if event.tag is None and event.implicit[0] and event.value == "<<":
            raise _Stop(error(where, "schema", "YAML merge keys ('<<') are not supported: write the settings out"))
        if event.anchor is not None:
            self.anchors[event.anchor] = (event.value, 1, _mark(event))
        return event.value

    def _sequence(self, start, path: Path_, depth: int, record: bool) -> tuple[list, int]:
        self._collection_tag(start, SEQ)
        result: list = []
        size = 1
        sizes = self.sizes
        add_name, add_mark, add_size = self.names.append, self.marks.append, sizes.append
        next_event, limit, fast = self.parser.get_event, self.max_nodes, depth < MAX_DEPTH
        while True:
            event = next_event()
            kind = type(event)
            if kind not in _NODE_EVENTS:
                return result, size  # the sequence's end
            mark = event.start_mark
            at = mark.line << COLUMN_BITS | mark.column
            add_name(None)
            add_mark(at)
            add_mark(at)
            # the plain-scalar path of `_mapping`, written out again: a call per scalar is what it saves
            if kind is ScalarEvent and event.tag is None and event.anchor is None and fast:
                add_size(1)
                self.values += 1
                if self.values > limit:
                    raise self._too_many(event)
                text = event.value
                if event.implicit[0] and text[:1] in RESOLVABLE:
                    text = plain(text)
                    if text is UNREADABLE:
                        self._scalar(event, (*path, len(result)))  # says why
                result.append(text)
                size += 1
            else:
                node = len(sizes)
                add_size(1)
                value, item_size = self.node(event, (*path, len(result)), depth + 1, record, None)
                result.append(value)
                sizes[node] = len(sizes) - node
                size += item_size

    def _scalar(self, event, path: Path_):
        """A scalar with a tag or an anchor, or one that cannot be read (the loops read the others in place)."""
        text, tag = event.value, event.tag
        if tag is None:
            tag = resolve(text) if event.implicit[0] else STR
        elif tag == "!":
            tag = STR
        if tag == STR:
            return text
        if tag in (INT, FLOAT) and len(text.replace("_", "")) > MAX_NUMBER_CHARS:
            raise _Stop(error(self._where(event), "schema", f"'{dotted(path)}' is {text[:12]}...: "
                                                             f"a number of {len(text)} digits is too large"))
        if tag not in CONSTRUCT:
            raise _Stop(error(self._where(event), "schema", f"unsupported YAML tag {_short(tag)}: use plain values"))
        try:
            return CONSTRUCT[tag](text)
        except (ValueError, OverflowError, KeyError, IndexError) as exc:
            raise _Stop(error(self._where(event), "schema", f"cannot read value {quoted(text)}: {exc}")) from None


def _short(tag: str) -> str:
    return "!!" + tag[len(TAG):] if tag.startswith(TAG) else tag
