"""The portal's snapshot in parts: a partial plan reads the entries of the customers it needs, not the whole file.

A partial plan (`--changed-since`) of one customer of a big portal needs that customer's
entry of the snapshot, the few other customers it reaches (who holds its PBX names and its
pinned devices), and who holds what. The snapshot's cache entry (reconciler.current) is one
pack: the index and the whole snapshot as JSON, checked by one SHA-256 over megabytes, so
using it means reading and hashing all of it. This file keeps the same content in parts:

    line 1: a header (JSON): the cache's version tag, the key (the SHA-256 of the snapshot
            file's bytes), where each section of the index is, its length and digest;
    then the index: the fingerprint of the whole state and the snapshot without its
            customers (JSON), and four tables: each customer's entry (its place in the
            snapshot's order, offset, length and digest in the body), who holds each device
            serial, who holds each PBX name, and the serials each customer holds;
    then the body: the customers' entries, each the JSON pydantic wrote of it.

A partial plan reads the header and the index, looks up the few keys it needs in the tables
(a table is sorted lines and their offsets: a lookup bisects, nothing else is decoded), then
seeks to each entry it binds and checks its digest before pydantic validates it. An optimisation only: a part that is missing,
short, damaged or of another version or snapshot is not used, and the state is taken from
the snapshot's cache entry or the file itself, as without this file. It lives in the repo's
cache folder and follows the cache's trust (`Cache.trusted`: never one that Git tracks).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from reconciler.cache import Cache, compact
from reconciler.snapshot import CurrentCustomer, Snapshot

NAME = "snapshot-parts.bin"
FORMAT = 2  # 2: the index as tables looked up by bisection
_HEADER_LIMIT = 4096  # a header is one short line; a longer first line is not one
_TABLES = ("entries", "serials", "pbxes", "held")  # each a table of keys, looked up without decoding the rest


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _encoded(value) -> bytes:
    return compact(value).encode()


class Damaged(ValueError):
    """A part that is not what its index says: the state is read the way it is without parts."""


class Table(Mapping):
    """A read-only mapping kept as lines `key TAB value` (both JSON) sorted by key, and the lines' offsets.

    A lookup bisects the offsets and decodes one line, so a table of 45,000 serials costs a plan
    that looks up three of them three lines, not 45,000 (JSON escapes tabs and newlines in strings).
    """

    def __init__(self, lines: bytes, offsets: array):
        self._lines, self._offsets = lines, offsets

    @classmethod
    def build(cls, pairs: Iterable[tuple[str, object]]) -> tuple[bytes, bytes]:
        """(the lines, the offsets' bytes) of a table of `pairs`."""
        lines = sorted(_encoded(key) + b"\t" + _encoded(value) + b"\n" for key, value in pairs)
        offsets, at = array("I"), 0
        for line in lines:
            offsets.append(at)
            at += len(line)
        return b"".join(lines), offsets.tobytes()

    def _key(self, number: int) -> bytes:
        start = self._offsets[number]
        return self._lines[start:self._lines.index(b"\t", start)]

    def _find(self, key) -> int | None:
        if not isinstance(key, str):
            return None
        wanted = _encoded(key)
        number = bisect_left(range(len(self._offsets)), wanted, key=self._key)
        return number if number < len(self._offsets) and self._key(number) == wanted else None

    def __getitem__(self, key):
        number = self._find(key)
        if number is None:
            raise KeyError(key)
        start = self._lines.index(b"\t", self._offsets[number]) + 1
        return json.loads(self._lines[start:self._lines.index(b"\n", start)])

    def __contains__(self, key) -> bool:
        return self._find(key) is not None

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self):
        for number in range(len(self._offsets)):
            yield json.loads(self._key(number))


class PartsState:
    """The current state through the parts file: PortalState's interface, each entry bound when asked for.

    `full()`: the state as a run without parts reads it (the snapshot's cache entry, else the
    file), for what needs the whole snapshot, and for any part that turns out damaged.
    """

    def __init__(self, path: Path, meta: dict, tables: dict[str, Table], body: int, full: Callable[[], object]):
        self._path, self._meta, self._tables, self._body, self._full = path, meta, tables, body, full
        self._state = None

    def _fallback(self):
        if self._state is None:
            self._state = self._full()
        return self._state

    @property
    def serials(self) -> Mapping[str, str]:
        """Device serial -> the customer whose PBX holds it."""
        return self._tables["serials"]

    @property
    def pbxes(self) -> Mapping[str, list[str]]:
        """PBX name -> the customers holding a PBX of that name."""
        return self._tables["pbxes"]

    def held(self, customers: Iterable[str]) -> set[str]:
        """The serials of the devices these customers hold."""
        held = self._tables["held"]
        return {serial for customer in customers for serial in held.get(customer, ())}

    def fingerprint(self) -> str:
        return self._meta["fingerprint"]

    def whole(self) -> Snapshot:
        return self._fallback().whole()

    def subset(self, customers: Iterable[str]) -> Snapshot:
        """The state with only these customers (in the snapshot's order); partner, stock and catalog whole."""
        customers = set(customers)
        try:
            entries = self._tables["entries"]
            wanted = sorted((entries[cid], cid) for cid in customers if cid in entries)
            head = Snapshot.model_validate_json(self._meta["head"])
            bound = {}
            with open(self._path, "rb") as file:
                for (_, offset, length, digest), cid in wanted:
                    file.seek(self._body + offset)
                    data = file.read(length)
                    if len(data) != length or _digest(data) != digest:
                        raise Damaged(cid)
                    bound[cid] = CurrentCustomer.model_validate_json(data)
        except (OSError, ValueError, TypeError):  # a damaged part (pydantic's errors are ValueErrors): as without parts
            return self._fallback().subset(customers)
        return head.model_copy(update={"customers": bound})


def open_parts(cache: Cache | None, key: str, full: Callable[[], object]) -> PartsState | None:
    """The state the parts file holds for the snapshot whose bytes hash to `key`, or None (not there, not usable)."""
    path = _path(cache)
    if path is None or not path.is_file() or not cache.trusted():
        return None
    try:
        with open(path, "rb") as file:
            line = file.readline(_HEADER_LIMIT)
            header = json.loads(line)
            if (header.get("format") != FORMAT or header.get("version") != cache.tag or header.get("key") != key
                    or header.get("byteorder") != sys.byteorder):
                return None
            length, digest = int(header["index"][0]), str(header["index"][1])
            data = file.read(length)
        if len(data) != length or _digest(data) != digest:
            return None
        layout = header["layout"]
        meta = json.loads(_section(data, layout, "meta"))
        tables = {}
        for name in _TABLES:
            offsets = array("I")
            offsets.frombytes(_section(data, layout, name + "#"))
            tables[name] = Table(_section(data, layout, name), offsets)
        if not (isinstance(meta, dict) and isinstance(meta.get("fingerprint"), str)
                and isinstance(meta.get("head"), str)):
            return None
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
    return PartsState(path, meta, tables, len(line) + length, full)


def _section(data: bytes, layout: dict, name: str) -> bytes:
    start, length = layout[name]
    if not (isinstance(start, int) and isinstance(length, int) and 0 <= start and start + length <= len(data)):
        raise ValueError(f"no section {name}")
    return data[start:start + length]


def store_parts(cache: Cache | None, key: str, value: str) -> None:
    """Write the parts of a snapshot's cache value (reconciler.current's `value_of`); a failure leaves none."""
    path = _path(cache)
    if path is None or not cache.trusted():
        return
    try:
        first, line, held, text = value.split("\n", 3)
        top, index = json.loads(first), json.loads(line)
        cut = top["head"]
        head = text[:cut[0]] + text[cut[1]:] if cut else text
        spans = [(str(cid), int(start), int(end)) for cid, start, end in index["spans"]]
        serials, pbxes = dict(json.loads(held)), dict(index["pbxes"])
        meta = {"fingerprint": str(top["fingerprint"]), "head": head}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return
    entries, body, at = [], [], 0
    for number, (cid, start, end) in enumerate(spans):
        data = text[start:end].encode("utf-8", "surrogatepass")
        entries.append((cid, [number, at, len(data), _digest(data)]))
        body.append(data)
        at += len(data)
    held: dict[str, list[str]] = {}
    for serial, owner in serials.items():
        held.setdefault(owner, []).append(serial)
    sections = {"meta": _encoded(meta)}
    for name, pairs in (("entries", entries), ("serials", serials.items()), ("pbxes", pbxes.items()),
                        ("held", held.items())):
        sections[name], sections[name + "#"] = Table.build(pairs)
    layout, at = {}, 0
    for name, data in sections.items():
        layout[name] = [at, len(data)]
        at += len(data)
    data = b"".join(sections.values())
    header = _encoded({"format": FORMAT, "version": cache.tag, "key": key, "byteorder": sys.byteorder,
                       "layout": layout, "index": [len(data), _digest(data)]})
    temporary = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not _within(path):
            return
        with open(temporary, "wb") as file:
            file.write(header + b"\n")
            file.write(data)
            file.writelines(body)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink()
        except OSError:
            pass


def _path(cache: Cache | None) -> Path | None:
    return cache.directory / NAME if cache is not None and cache.directory is not None else None


def _within(path: Path) -> bool:
    """The cache folder is still the repo's own (not made meanwhile as a link out of it)."""
    try:
        return path.parent.resolve().is_relative_to(path.parent.parent.parent.resolve() / ".reconciler")
    except (OSError, RuntimeError):
        return False
