"""Where each key and value of a YAML document stands, stored small enough for a whole portal's snapshot.

A snapshot of 10,000 customers has about a million keys and values. Keeping a path tuple and
a (line, column) tuple for each costs hundreds of bytes apiece; here the document's nodes are
kept flat, in the order they come (a node before its children), in three arrays:

- `names`: the key of each node (None for a list's item and for the document itself);
- `marks`: two packed places a node, its key's and its value's (`line << 32 | column`, 0-based);
- `sizes`: how many nodes its subtree holds, itself included (1 for a scalar or an alias).

About 30 bytes a value. A lookup walks the path down from the document, hopping over each
child's subtree; a mapping or a list with many children gets an index the first time it is
searched. `Positions.key(path)` and `.value(path)` answer as a dict of paths would: an absent
path at its nearest present ancestor, anything inside an alias at the alias.

`dump()` gives the arrays as JSON can hold them, `restore()` checks and takes them back (the
parse cache keeps positions this way). `deferred()` keeps that JSON text as it is until a
lookup needs the arrays: a file rebuilt from the cache is rarely asked where anything stands
(only a diagnostic points into it), so most never pay for decoding and checking them. Text
that turns out not to be such arrays gives way to the positions its `fallback` makes (the
caller's: the file's own bytes parsed again), so a damaged cache never changes an answer.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Mapping
from typing import Iterator

from reconciler.diagnostics import Position

COLUMN_BITS = 32  # a column counts characters in one line: a 64 MiB snapshot on one line still fits
COLUMN_MASK = (1 << COLUMN_BITS) - 1
INDEXED = 16  # a collection with a subtree larger than this gets an index of its children when searched

Path_ = tuple  # a path into the document: str keys and int indices


def pack(line: int, column: int) -> int:
    """A 0-based (line, column) as one int."""
    return line << COLUMN_BITS | column


def line_column(packed: int) -> tuple[int, int]:
    """A packed place as 1-based (line, column)."""
    return (packed >> COLUMN_BITS) + 1, (packed & COLUMN_MASK) + 1


def arrays() -> tuple[list, array, array]:
    """Empty (names, marks, sizes), for the reader to fill."""
    return [], array("Q"), array("I")


class Positions:
    """Where each path's key and value stand in one file (1-based lines and columns).

    `keys` and `values` are read-only views as dicts of path -> (line, column), for a caller
    that wants to see them all.
    """

    __slots__ = ("file", "_nodes", "_index", "_deferred")

    def __init__(self, file: str, keys: dict | None = None, values: dict | None = None, nodes=None):
        self.file = file
        self._nodes = _from_dicts(keys or {}, values) if values else nodes or arrays()
        self._index: dict[int, object] = {}  # node -> its children by key (a dict) or by position (a list)
        self._deferred: tuple[str, Callable[[], Positions]] | None = None

    @classmethod
    def deferred(cls, file: str, dumped: str, fallback: Callable[[], Positions]) -> Positions:
        """Positions from the JSON text of what `dump` gave, decoded and checked on the first lookup only.

        When the text is not such arrays, the first lookup takes `fallback()`'s positions instead.
        """
        positions = cls.__new__(cls)  # no empty arrays made only to be dropped: thousands a warm load
        positions.file, positions._nodes, positions._index, positions._deferred = file, None, {}, (dumped, fallback)
        return positions

    def _arrays(self) -> tuple[list, array, array]:
        """(names, marks, sizes), restored from the deferred text on the first call."""
        nodes = self._nodes
        if nodes is None:
            dumped, fallback = self._deferred
            try:
                nodes = Positions.restore(self.file, json.loads(dumped))._nodes
            except (ValueError, RecursionError):  # not the arrays `dump` gave: the fallback's are the file's own
                nodes = fallback()._arrays()
            self._nodes, self._deferred = nodes, None
        return nodes

    @property
    def names(self) -> list:
        return self._arrays()[0]

    @property
    def marks(self) -> array:
        return self._arrays()[1]

    @property
    def sizes(self) -> array:
        return self._arrays()[2]

    def _child(self, node: int, part) -> int | None:
        """The child of `node` at `part` (a key of a mapping, an index of a list), or None."""
        names, _, sizes = self._arrays()
        end = node + sizes[node]
        first = node + 1
        if first == end:
            return None
        if type(part) is str:
            if names[first] is None:
                return None
        elif type(part) is not int or part < 0 or names[first] is not None:
            return None
        if end - node > INDEXED:
            return self._children(node).get(part) if type(part) is str else _at(self._children(node), part)
        child = first
        if type(part) is str:
            while child < end:
                if names[child] == part:
                    return child
                child += sizes[child]
            return None
        for _ in range(part):
            child += sizes[child]
            if child >= end:
                return None
        return child

    def _children(self, node: int):
        found = self._index.get(node)
        if found is None:
            names, _, sizes = self._arrays()
            children, child, end = [], node + 1, node + sizes[node]
            while child < end:
                children.append(child)
                child += sizes[child]
            found = {names[child]: child for child in children} if names[node + 1] is not None else children
            self._index[node] = found
        return found

    def _find(self, path, exact: bool = False) -> tuple[int | None, int | None] | None:
        """(the packed place of the value at `path` or of its nearest present ancestor, of its key or None).

        The key is given only when the whole path is present and ends in a mapping's key;
        `exact`: None when the whole path is not present.
        """
        names, marks, sizes = self._arrays()
        if not sizes:
            return None if exact else (None, None)
        node = 0
        for part in path:
            child = self._child(node, part)
            if child is None:
                return None if exact else (marks[2 * node + 1], None)
            node = child
        key = marks[2 * node] if node and names[node] is not None else None
        return marks[2 * node + 1], key

    def value(self, path: Path_) -> Position:
        """The value's place; for a path that is absent, the nearest present ancestor's."""
        return _where(self.file, self._find(path)[0])

    def key(self, path: Path_) -> Position:
        """The key's place (where a human points at "this setting"); falls back to the value."""
        value, key = self._find(path)
        return _where(self.file, value if key is None else key)

    def has_key(self, path: Path_) -> bool:
        return self._find(path)[1] is not None

    @property
    def keys(self) -> Mapping:
        return _View(self, True)

    @property
    def values(self) -> Mapping:
        return _View(self, False)

    def dump(self) -> list:
        """The arrays as plain lists, for JSON."""
        names, marks, sizes = self._arrays()
        return [names, marks.tolist(), sizes.tolist()]

    @classmethod
    def restore(cls, file: str, dumped) -> Positions:
        """Positions from what `dump` gave; ValueError when it is not such a thing (a damaged cache)."""
        if not isinstance(dumped, list) or len(dumped) != 3 or not all(isinstance(part, list) for part in dumped):
            raise ValueError("not positions")
        names, marks, sizes = dumped
        if len(marks) != 2 * len(names) or len(sizes) != len(names):
            raise ValueError("not positions")
        if not all(type(mark) is int for mark in marks) or not all(type(size) is int for size in sizes):
            raise ValueError("not positions")
        try:
            nodes = names, array("Q", marks), array("I", sizes)
        except OverflowError:
            raise ValueError("not positions") from None
        _check(*nodes)
        return cls(file, nodes=nodes)

    def items(self, keys: bool) -> Iterator[tuple[Path_, tuple[int, int]]]:
        """Every recorded path and its (line, column): of its key (`keys`) or of its value, parents first."""
        names, marks, sizes = self._arrays()
        stack: list[list] = []  # the open collections: [end, path, index of the next item]
        for node in range(len(sizes)):
            while stack and node >= stack[-1][0]:
                stack.pop()
            if stack:
                parent = stack[-1]
                name = names[node]
                path = (*parent[1], parent[2] if name is None else name)
                parent[2] += 1
            else:
                name, path = None, ()
            if not keys:
                yield path, line_column(marks[2 * node + 1])
            elif name is not None:
                yield path, line_column(marks[2 * node])
            if sizes[node] > 1:
                stack.append([node + sizes[node], path, 0])


def _where(file: str, packed: int | None) -> Position:
    if packed is None:
        return Position(file)
    return Position(file, (packed >> COLUMN_BITS) + 1, (packed & COLUMN_MASK) + 1)


def _at(children: list, index: int) -> int | None:
    return children[index] if index < len(children) else None


class _View(Mapping):
    """Positions seen as the dict of path -> (line, column) of every key (or every value)."""

    def __init__(self, positions: Positions, keys: bool):
        self.positions, self.of_keys = positions, keys

    def __getitem__(self, path):
        found = self.positions._find(path, exact=True)
        if found is None or (self.of_keys and found[1] is None):
            raise KeyError(path)
        return line_column(found[1] if self.of_keys else found[0])

    def __iter__(self):
        return (path for path, _ in self.positions.items(self.of_keys))

    def __len__(self):
        return sum(1 for _ in self)


def _check(names: list, marks: array, sizes: array) -> None:
    """Raise ValueError unless the arrays nest as the reader writes them."""
    if not sizes:
        return
    if names[0] is not None or sizes[0] != len(sizes):
        raise ValueError("not positions")
    stack: list[tuple[int, bool]] = []  # the open collections: (end, whether its children have keys)
    for node, size in enumerate(sizes):
        while stack and node >= stack[-1][0]:
            stack.pop()
        name = names[node]
        if size < 1 or (stack and (node + size > stack[-1][0] or (name is not None) is not stack[-1][1])):
            raise ValueError("not positions")
        if name is not None and type(name) is not str:
            raise ValueError("not positions")
        if size > 1:
            stack.append((node + size, names[node + 1] is not None))


def _from_dicts(keys: dict, values: dict) -> tuple[list, array, array]:
    """The arrays of the dicts path -> (line, column) (1-based) of the keys and the values."""
    names, marks, sizes = arrays()
    children: dict[tuple, list] = {}
    for path in values:
        if path:
            children.setdefault(path[:-1], []).append(path)
    if () not in values:
        return names, marks, sizes
    pending = [()]
    starts: list[tuple[int, tuple]] = []
    while pending:
        path = pending.pop()
        line, column = values[path]
        key_line, key_column = keys.get(path, (line, column))
        names.append(path[-1] if path and type(path[-1]) is str else None)
        marks.extend((pack(key_line - 1, key_column - 1), pack(line - 1, column - 1)))
        sizes.append(1)
        starts.append((len(sizes) - 1, path))
        below = children.get(path, [])
        if below and type(below[0][-1]) is int:
            below = sorted(below, key=lambda child: child[-1])
        pending.extend(reversed(below))
    ends = {}
    for node, path in reversed(starts):
        ends[path] = max([node + 1, *(ends[child] for child in children.get(path, []))])
        sizes[node] = ends[path] - node
    return names, marks, sizes
