"""The portal's snapshot in parts: a partial plan reads the entries of the customers it needs, not the whole file.

A partial plan (`--changed-since`) of one customer of a big portal needs that customer's
entry of the snapshot, the few other customers it reaches (who holds its PBX names and its
pinned devices), and who holds what. The snapshot's cache entry (reconciler.current) is one
pack: the index and the whole snapshot as JSON, checked by one SHA-256 over megabytes, so
using it means reading and hashing all of it. This file keeps the same content in parts:

    line 1: a header (JSON): the cache's version tag, the key (the SHA-256 of the snapshot
            file's bytes), the length and digest of the index;
    then the index (JSON): the fingerprint of the whole state, who holds each device serial
            and PBX name, the snapshot without its customers, and each customer's entry as
            offset, length and digest in the body;
    then the body: the customers' entries, each the JSON pydantic wrote of it.

A partial plan reads the header and the index, then seeks to each entry it binds and checks
its digest before pydantic validates it. An optimisation only: a part that is missing,
short, damaged or of another version or snapshot is not used, and the state is taken from
the snapshot's cache entry or the file itself, as without this file. It lives in the repo's
cache folder and follows the cache's trust (`Cache.trusted`: never one that Git tracks).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from reconciler.cache import Cache
from reconciler.snapshot import CurrentCustomer, Snapshot

NAME = "snapshot-parts.bin"
FORMAT = 1
_HEADER_LIMIT = 4096  # a header is one short line; a longer first line is not one


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Damaged(ValueError):
    """A part that is not what its index says: the state is read the way it is without parts."""


class PartsState:
    """The current state through the parts file: PortalState's interface, each entry bound when asked for.

    `full()`: the state as a run without parts reads it (the snapshot's cache entry, else the
    file), for what needs the whole snapshot, and for any part that turns out damaged.
    """

    def __init__(self, path: Path, index: dict, body: int, full: Callable[[], object]):
        self._path, self._index, self._body, self._full = path, index, body, full
        self._state = None

    def _fallback(self):
        if self._state is None:
            self._state = self._full()
        return self._state

    @property
    def serials(self) -> Mapping[str, str]:
        """Device serial -> the customer whose PBX holds it."""
        return self._index["serials"]

    @property
    def pbxes(self) -> Mapping[str, list[str]]:
        """PBX name -> the customers holding a PBX of that name."""
        return self._index["pbxes"]

    def fingerprint(self) -> str:
        return self._index["fingerprint"]

    def whole(self) -> Snapshot:
        return self._fallback().whole()

    def subset(self, customers: Iterable[str]) -> Snapshot:
        """The state with only these customers (in the snapshot's order); partner, stock and catalog whole."""
        entries = self._index["entries"]
        wanted = sorted((entries[cid][0], cid) for cid in set(customers) if cid in entries)
        try:
            head = Snapshot.model_validate_json(self._index["head"])
            bound = {}
            with open(self._path, "rb") as file:
                for offset, cid in wanted:
                    _, length, digest = entries[cid]
                    file.seek(self._body + offset)
                    data = file.read(length)
                    if len(data) != length or _digest(data) != digest:
                        raise Damaged(cid)
                    bound[cid] = CurrentCustomer.model_validate_json(data)
        except (OSError, ValueError):  # a damaged part (pydantic's errors are ValueErrors): read it as without parts
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
            if header.get("format") != FORMAT or header.get("version") != cache.tag or header.get("key") != key:
                return None
            length, digest = int(header["index"][0]), str(header["index"][1])
            data = file.read(length)
        if len(data) != length or _digest(data) != digest:
            return None
        index = json.loads(data)
        if not all(isinstance(index.get(name), kind) for name, kind in _INDEX):
            return None
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
    return PartsState(path, index, len(line) + length, full)


_INDEX = (("fingerprint", str), ("serials", dict), ("pbxes", dict), ("head", str), ("entries", dict))


def store_parts(cache: Cache | None, key: str, value: str) -> None:
    """Write the parts of a snapshot's cache value (reconciler.current's `value_of`); a failure leaves none."""
    path = _path(cache)
    if path is None or not cache.trusted():
        return
    try:
        line, text = value.split("\n", 1)
        index = json.loads(line)
        cut = index["head"]
        head = text[:cut[0]] + text[cut[1]:] if cut else text
        spans = [(str(cid), int(start), int(end)) for cid, start, end in index["spans"]]
        index = {"fingerprint": index["fingerprint"], "serials": index["serials"], "pbxes": index["pbxes"]}
    except (ValueError, TypeError, KeyError, IndexError):
        return
    entries, body, at = {}, [], 0
    for cid, start, end in spans:
        data = text[start:end].encode("utf-8", "surrogatepass")
        entries[cid] = [at, len(data), _digest(data)]
        body.append(data)
        at += len(data)
    data = json.dumps({**index, "head": head, "entries": entries}, separators=(",", ":")).encode()
    header = json.dumps({"format": FORMAT, "version": cache.tag, "key": key, "index": [len(data), _digest(data)]}).encode()
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
