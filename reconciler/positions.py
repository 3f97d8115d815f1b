"""Where each key and value of a YAML document stands, stored small enough for a whole portal's snapshot.

A snapshot of 10,000 customers has about a million keys and values. Keeping a path tuple and
a (line, column) tuple for each costs hundreds of bytes apiece; here a position is one int
(`line << 32 | column`, both 0-based) and the document is a tree shaped like the data itself:
a mapping is one dict from each key to its entry, a sequence one list of entries. An entry is
an int for a value that holds nothing further (a scalar, an alias) and a pair (int, record) for
a mapping or a sequence. In a mapping the int packs the key's place and the value's
(`key << 64 | value`); in a sequence it is the item's place. A lookup walks the path down the
tree, so `Positions.key(path)` and `.value(path)` answer as a dict of paths would.

The tree is plain data (ints, strings, dicts, lists): `dump()` gives it as JSON can hold it and
`restore()` checks and takes it back (the parse cache keeps positions this way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

from reconciler.diagnostics import Position

COLUMN_BITS = 32  # a column counts characters in one line: a 64 MiB snapshot on one line still fits
COLUMN_MASK = (1 << COLUMN_BITS) - 1
VALUE_BITS = 64  # in a mapping's entry, the value's place is the low half, the key's the high half
VALUE_MASK = (1 << VALUE_BITS) - 1

Path_ = tuple  # a path into the document: str keys and int indices


def pack(line: int, column: int) -> int:
    """A 0-based (line, column) as one int."""
    return line << COLUMN_BITS | column


def _where(file: str, packed: int | None) -> Position:
    if packed is None:
        return Position(file)
    return Position(file, (packed >> COLUMN_BITS) + 1, (packed & COLUMN_MASK) + 1)


class Positions:
    """Where each path's key and value stand in one file (1-based lines and columns).

    `root` is the document's entry as the reader builds it (None: nothing is known, every
    answer is the file alone). `keys` and `values` are read-only views as dicts of
    path -> (line, column), for a caller that wants to see them all.
    """

    __slots__ = ("file", "root")

    def __init__(self, file: str, keys: dict | None = None, values: dict | None = None, root=None):
        self.file = file
        self.root = _from_dicts(keys or {}, values) if values else root

    def _find(self, path, exact: bool = False) -> tuple[int | None, int | None] | None:
        """(the packed place of the value at `path` or of its nearest present ancestor, of its key or None).

        The key is given only when the whole path is present and ends in a mapping's key;
        `exact`: None when the whole path is not present.
        """
        entry = self.root
        if entry is None:
            return None if exact else (None, None)
        if type(entry) is int:
            value, record = entry, None
        else:
            value, record = entry
        key = None
        for part in path:
            if record is None:
                return None if exact else (value, None)
            if type(record) is dict:
                entry = record.get(part)
            elif type(part) is int and 0 <= part < len(record):
                entry = record[part]
            else:
                entry = None
            if entry is None:
                return None if exact else (value, None)
            if type(entry) is int:
                record = None
            else:
                entry, record = entry
            if type(part) is str:
                key, value = entry >> VALUE_BITS, entry & VALUE_MASK
            else:
                key, value = None, entry
        return value, key

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

    def dump(self):
        """The tree as plain data, for JSON (tuples become lists; `restore` takes either)."""
        return self.root

    @classmethod
    def restore(cls, file: str, root) -> Positions:
        """Positions from what `dump` gave; ValueError when it is not such a tree (a damaged cache)."""
        if root is not None:
            _check(root, str)
        return cls(file, root=root)

    def items(self, keys: bool) -> Iterator[tuple[Path_, tuple[int, int]]]:
        """Every recorded path and its (line, column): of its key (`keys`) or of its value, parents first."""
        if self.root is None:
            return
        stack = [((), self.root, None)]
        while stack:
            path, entry, kind = stack.pop()
            if type(entry) is int:
                packed, record = entry, None
            else:
                packed, record = entry
            if kind is str:
                key, value = packed >> VALUE_BITS, packed & VALUE_MASK
                if keys:
                    yield path, line_column(key)
            else:
                value = packed
            if not keys:
                yield path, line_column(value)
            if record is None:
                continue
            children = record.items() if type(record) is dict else enumerate(record)
            stack.extend(reversed([((*path, part), child, type(part)) for part, child in children]))


def line_column(packed: int) -> tuple[int, int]:
    """A packed place as 1-based (line, column)."""
    return (packed >> COLUMN_BITS) + 1, (packed & COLUMN_MASK) + 1


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


def _check(entry, kind) -> None:
    """Raise ValueError unless `entry` is an entry of the shape the reader builds."""
    if type(entry) is int:
        return
    if not isinstance(entry, (list, tuple)) or len(entry) != 2 or type(entry[0]) is not int:
        raise ValueError("not a positions entry")
    record = entry[1]
    if type(record) is dict:
        for part, child in record.items():
            if type(part) is not str:
                raise ValueError("not a positions entry")
            _check(child, str)
    elif type(record) is list:
        for child in record:
            _check(child, int)
    else:
        raise ValueError("not a positions entry")


def _from_dicts(keys: dict, values: dict):
    """The tree of the dicts path -> (line, column) (1-based) of the keys and the values."""
    root: list = [0, None]  # entries under construction: [packed, record]
    built = {(): root}
    for path in sorted(values, key=len):
        line, column = values[path]
        packed = pack(line - 1, column - 1)
        if not path:
            root[0] = packed
            continue
        parent = built.get(path[:-1])
        if parent is None:
            continue
        part = path[-1]
        if type(part) is str:
            key_line, key_column = keys.get(path, (line, column))
            packed |= pack(key_line - 1, key_column - 1) << VALUE_BITS
        if parent[1] is None:
            parent[1] = {}
        entry = [packed, None]
        parent[1][part] = entry
        built[path] = entry
    return _freeze(root)


def _freeze(entry: list):
    packed, record = entry
    if record is None:
        return packed
    if all(type(part) is int for part in record) and sorted(record) == list(range(len(record))):
        return packed, [_freeze(record[index]) for index in range(len(record))]
    return packed, {part: _freeze(child) for part, child in record.items()}
