"""The portal's current state as a plan reads it: a whole snapshot, or the cached entries of one to bind on demand.

A snapshot of a big portal is the largest file a plan reads, and reading and binding it is
most of a warm re-plan. So what binding made of a valid snapshot file is kept in the repo's
cache (reconciler.cache, kind `snapshot`) under the SHA-256 of the file's bytes (told from
the file's stat when it is the one it had when it was hashed: reconciler.unchanged): the
snapshot as JSON, where each customer entry starts and ends in that text, and an index of
who holds each PBX name and device serial. A re-plan with the same bytes then never reads
the YAML: a whole-repo plan validates the cached JSON once (pydantic, as strict as the
YAML's binding), and a partial plan (`--changed-since`, customer files) binds only the
entries it needs, found through the index. Only a snapshot that was valid is kept, so a
hit has no diagnostics to place and needs no positions; a snapshot with an error is read
again, and its diagnostics are the full reader's.

The cache holds one snapshot (the latest read): a portal's state moves between runs, and an
older one is not read again.

A cold plan given a second process (`Reading`, workers above 1) reads a big snapshot file in
a forked child while it reads the customer files: the child makes that same cache entry and
the parent goes on from it as from a hit (and stores it when the run keeps a cache).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import orjson
from pydantic import ValidationError

from reconciler.cache import Cache, compact
from reconciler.diagnostics import Diagnostic, ReconcilerError
from reconciler.fingerprint import fingerprint_state
from reconciler import forked
from reconciler.snapshot import CurrentCustomer, Snapshot
from reconciler.snapshotparts import open_parts, store_parts
from reconciler.unchanged import content_digest

KIND = "snapshot"
STAT_KIND = "snapshot-stat"  # the snapshot file's stat signature and hash (reconciler.unchanged): not hashed again


class PortalState:
    """The current state: `whole()`, or `subset(ids)` with only some customers, and who holds what in it.

    From a cache value, the index of who holds what (`index`, JSON text: each customer's span and
    each PBX name's holders) is decoded only when a partial or warm plan asks it (a whole plan
    binds the snapshot and never does), the holders of the devices (`held`, JSON text: tens of
    thousands of serials) only when something asks who holds a serial, and the snapshot's text
    is let go once the whole snapshot is bound from it.
    """

    def __init__(self, snapshot: Snapshot | None = None, *, text: str = "", start: int = 0,
                 head: tuple[int, int] | None = None, index: str | None = None, held: str | None = None,
                 fingerprint: str | None = None, reread: Callable[[], Snapshot] | None = None):
        """`text[start:]` is the snapshot's JSON (the cache value's own text, its lines before it not cut off: a
        copy of megabytes less); `head`, and the spans the index gives, are where its customers are in it."""
        self._snapshot, self._text, self._start, self._head = snapshot, text, start, head
        self._index, self._held = index, held
        self._spans: Mapping | None = None
        self._serials: Mapping[str, str] | None = None
        self._pbxes: Mapping[str, list[str]] | None = None
        self._own = {}.setdefault  # one string per customer id: 45,000 devices' holders name 10,000 customers
        self._fingerprint, self._reread = fingerprint, reread

    @classmethod
    def cached(cls, value: str, reread: Callable[[], Snapshot]) -> PortalState | None:
        """The state a cache value holds, or None when the value is not one (then the file is read)."""
        try:
            first = value.index("\n")
            second = value.index("\n", first + 1)
            start = value.index("\n", second + 1) + 1
            head = json.loads(value[:first])
            cut = (start + int(head["head"][0]), start + int(head["head"][1])) if head["head"] else None
            state = cls(text=value, start=start, head=cut, index=value[first + 1:second],
                        held=value[second + 1:start - 1], fingerprint=str(head["fingerprint"]), reread=reread)
        except (ValueError, TypeError, KeyError):
            return None
        return state

    def whole(self) -> Snapshot:
        if self._snapshot is None:
            try:
                json_text = self._text[self._start:] if self._start else self._text
                self._snapshot = Snapshot.model_validate_json(json_text)
            except ValueError:  # a cached value that is not a snapshot: the file is read after all
                self._read_again()
            self._text = self._index = self._held = None  # what is left to know, the snapshot knows
        return self._snapshot

    def _read_again(self) -> None:
        self._snapshot, self._head, self._text, self._index, self._held = self._reread(), None, None, None, None
        self._spans = self._serials = self._pbxes = self._fingerprint = None

    def _decode_index(self) -> bool:
        """Whether the cache value's index is at hand (decoded now if need be); False: ask the whole snapshot."""
        if self._spans is not None:
            return True
        if self._index is None:
            return False
        index, self._index = self._index, None
        try:
            found = orjson.loads(index)
            own, at = self._own, self._start
            spans = {own(cid, cid): (at + int(start), at + int(end)) for cid, start, end in found["spans"]}
            pbxes = {name: list(map(own, holders, holders)) for name, holders in found["pbxes"].items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return False
        self._spans, self._pbxes = spans, pbxes
        return True

    def _decode_held(self) -> bool:
        """Whether the cache value's device holders are at hand (decoded now if need be; after the index, whose
        customer ids they share); False: ask the whole snapshot."""
        if self._serials is not None:
            return True
        if self._held is None or not self._decode_index():
            return False
        held, self._held = self._held, None
        try:
            found = orjson.loads(held)
            if not all(type(owner) is str for owner in found.values()):
                return False
            serials = dict(zip(found, map(self._own, found.values(), found.values())))  # a loop in C
        except (ValueError, TypeError, AttributeError):
            return False
        self._serials = serials
        return True

    def fingerprint(self) -> str:
        """The fingerprint of the whole state (reconciler.fingerprint), computed once per snapshot file."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint_state(self.whole())
        return self._fingerprint

    @property
    def serials(self) -> Mapping[str, str]:
        """Device serial -> the customer whose PBX holds it."""
        if self._serials is None and not self._decode_held():
            self._serials = {device.serial: cid for cid, customer in self.whole().customers.items()
                             for pbx in customer.pbxes.values() for device in pbx.devices}
        return self._serials

    def held(self, customers: Iterable[str]) -> set[str]:
        """The serials of the devices these customers hold."""
        customers = set(customers)
        return {serial for serial, owner in self.serials.items() if owner in customers}

    @property
    def pbxes(self) -> Mapping[str, list[str]]:
        """PBX name -> the customers holding a PBX of that name."""
        if self._pbxes is None and not self._decode_index():
            names: dict[str, list[str]] = {}
            for cid, customer in self.whole().customers.items():
                for name in customer.pbxes:
                    names.setdefault(name, []).append(cid)
            self._pbxes = names
        return self._pbxes

    def cached_text(self) -> tuple[str, str, Mapping[str, tuple[int, int]]] | None:
        """(the cached snapshot's JSON without its customers, a text that holds each customer's JSON, where each
        one is in it), or None when the state was not read from a cache entry (nothing to slice)."""
        if self._snapshot is not None or self._head is None or not self._decode_index():
            return None
        return self._head_json(), self._text, self._spans

    def _head_json(self) -> str:
        """The cached snapshot's JSON without its customers."""
        opened, closed = self._head
        return self._text[self._start:opened] + self._text[closed:]

    def subset(self, customers: Iterable[str]) -> Snapshot:
        """The state with only these customers (in the snapshot's order); partner, stock and catalog whole."""
        keep = set(customers)
        if self._snapshot is not None or self._head is None or not self._decode_index():
            whole = self.whole()
            return whole.model_copy(update={"customers": {cid: c for cid, c in whole.customers.items()
                                                          if cid in keep}})
        try:
            head = Snapshot.model_validate_json(self._head_json())
            bound = {cid: CurrentCustomer.model_validate_json(self._text[start:end])
                     for cid, (start, end) in self._spans.items() if cid in keep}
        except ValueError:  # not a snapshot after all: read the file
            self._read_again()
            return self.subset(keep)
        return head.model_copy(update={"customers": bound})


def value_of(snapshot: Snapshot, state: PortalState) -> str:
    """The cache value of a valid snapshot: a line with its fingerprint and where its customers are in the text, a
    line with the index (who holds each PBX name, each customer's span), a line with who holds each device serial,
    then the snapshot as JSON."""
    customers = snapshot.customers
    head = snapshot.model_dump_json(exclude_unset=True, exclude={"customers"})
    if "customers" not in snapshot.model_fields_set:
        text, cut, spans = head, None, []
    else:
        parts = [head[:-1] + (',"customers":{' if head != "{}" else '"customers":{')]
        at, spans = len(parts[0]), []
        for number, (cid, customer) in enumerate(customers.items()):
            prefix = ("," if number else "") + json.dumps(cid) + ":"
            entry = customer.model_dump_json(exclude_unset=True)
            spans.append([cid, at + len(prefix), at + len(prefix) + len(entry)])
            parts.append(prefix + entry)
            at += len(prefix) + len(entry)
        parts.append("}}")
        text, cut = "".join(parts), [len(parts[0]), at]
    first = {"fingerprint": state.fingerprint(), "head": cut}
    index = {"pbxes": state.pbxes, "spans": spans}
    return f"{compact(first)}\n{compact(index)}\n{compact(state.serials)}\n{text}"


# A snapshot file at least this big is read by a forked child while the parent reads the customer files (a run
# given workers > 1). Below it the fork, the child's JSON and binding that JSON again cost more than the
# read they take off the parent (measured: about 64 KiB, some 15 customers; a one-customer plan never forks).
CHILD_BYTES = 64 * 1024


class Reading:
    """A run's current state, under way: the cache's, a forked child's, or read here when `state()` asks.

    Made before the customer files are read (and before any thread of the run): with `workers`
    above 1, a snapshot file the cache does not hold for its bytes and big enough is read by a
    child (reconciler.forked), which returns the text a cache entry holds (`value_of`); the
    parent takes it in `state()`, stores it in the cache when there is one and goes on from it as
    from a cache hit. A snapshot with an error comes back as the reader's error, its message and
    diagnostics (`_failed_text`), and is raised here as reading it here would raise it: the file
    is read once. When the child gives nothing (it failed, the file changed, no fork), the
    snapshot is read here as without a child: the child is an optimisation only. Leaving the
    `with` block stops a child not asked for.
    `partial`: the run binds only some customers (reconciler.snapshotparts): their entries are read
    from the snapshot's parts, and a run that had to read the whole entry leaves the parts behind.
    """

    def __init__(self, provider, cache: Cache | None, workers: int = 1, partial: bool = False):
        from reconciler.providers.snapshot import SnapshotProvider  # the snapshot's reader: only a run with one

        self.provider, self.cache, self.partial = provider, cache, partial
        self._key = self._hit = self._child = None
        if not isinstance(provider, SnapshotProvider):
            return
        if cache is not None and cache.directory is not None:
            self._key = content_digest(cache, STAT_KIND, provider.path, lambda: _key(provider.path))
            if self._key is not None and partial:
                self._hit = open_parts(cache, self._key, self._whole_entry)
            if self._key is not None and self._hit is None:
                self._hit = PortalState.cached(cache.get(KIND, self._key) or "", self._reread)
                self._keep_parts(self._hit is not None and cache.get(KIND, self._key))
        if self._hit is None and workers > 1 and forked.file_size(provider.path) >= CHILD_BYTES:
            self._start(provider)

    def _start(self, provider) -> None:
        key = self._key or _key(provider.path)
        if key is not None:
            self._child = forked.Child(lambda: _read_for_cache(provider, key))

    def _reread(self) -> Snapshot:
        return self.provider.read(None)

    def _whole_entry(self) -> PortalState:
        """The state as a run without the snapshot's parts reads it (a part that was damaged, or the whole asked for)."""
        return PortalState.cached(self.cache.get(KIND, self._key) or "", self._reread) or PortalState(self._reread())

    def _keep_parts(self, value: str | None) -> None:
        if self.partial and value:
            store_parts(self.cache, self._key, value)

    def state(self, provider, today=None) -> PortalState:
        """The state `provider` reads: this reading's when it was made for the same snapshot file, else read now."""
        if provider is not self.provider and not _same_file(provider, self.provider):
            self.stop()
            return Reading(provider, self.cache).state(provider, today)
        if self._hit is not None:
            return self._hit
        text = self._from_child()
        if text is not None and text.startswith(FAILED):
            raise _failure(text)
        state = PortalState.cached(text, self._reread) if text is not None else None
        if state is not None:
            if self._key is not None:
                self.cache.replace(KIND, self._key, text)
                self._keep_parts(text)
            return state
        state = PortalState(provider.read(today))
        if self._key is not None and _key(provider.path) == self._key:  # the file did not change while it was read
            try:
                value = value_of(state.whole(), state)
            except (ValueError, ValidationError):
                return state
            self.cache.replace(KIND, self._key, value)
            self._keep_parts(value)
        return state

    def _from_child(self) -> str | None:
        child, self._child = self._child, None
        data = child.result() if child is not None else None
        try:
            return data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError:
            return None

    def stop(self) -> None:
        """Stop and reap a child whose state is no longer wanted (an error, Ctrl-C)."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()

    def __enter__(self) -> Reading:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def read_state(provider, cache: Cache | None, today=None) -> PortalState:
    """The provider's current state; a snapshot file through the cache (the same state, read or cached)."""
    return Reading(provider, cache).state(provider, today)


def _read_for_cache(provider, key: str) -> bytes:
    """A child's work: the snapshot read and bound as a plan reads it, as the text of its cache entry (or its error)."""
    try:
        snapshot = provider.read(None)
    except ReconcilerError as failed:
        if type(failed) is not ReconcilerError:  # a kind of error this text does not carry: the parent reads it
            raise
        text = _failed_text(failed)
    else:
        text = value_of(snapshot, PortalState(snapshot))
    if _key(provider.path) != key:  # changed while it was read: the parent reads it itself
        raise ValueError("the snapshot file changed while it was read")
    return text.encode("utf-8")


# A child's text for a snapshot the reader refused: this mark, then its message and diagnostics as JSON. A cache
# value starts with "{" (its first line), so the two never meet.
FAILED = "!failed\n"


def _failed_text(failed: ReconcilerError) -> str:
    return FAILED + json.dumps([str(failed), [d.row() for d in failed.diagnostics]])


def _failure(text: str) -> ReconcilerError:
    """The error `_failed_text` carries, equal to the one the reader raised."""
    message, diagnostics = json.loads(text[len(FAILED):])
    return ReconcilerError(message, [Diagnostic.from_row(row) for row in diagnostics])


def _same_file(one, other) -> bool:
    return type(one) is type(other) and getattr(one, "path", None) is not None and one.path == other.path


def _key(path: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
