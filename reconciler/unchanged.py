"""Whether a file holds the bytes a run read before, told from its stat alone: a warm re-plan of a big repo does not
open and hash the thousands of customer files that did not change.

The cache (reconciler.cache, kind `stat`, keyed by the file's path as the run names it) keeps, for a
customer file that loaded clean, its stat signature then (size, modification and change times in
nanoseconds, inode and device), the content hash of its bytes and its claims. A file whose stat says
the same now is taken to hold the same bytes, as Git's index and make take it:

- every write sets the change time (ctime) to the clock's time, and no call sets it back (`touch -d`
  and `git checkout` set the modification time only); a file put in another's place (a rename, a
  checkout, a restored CI cache's runner) has another inode;
- a signature is kept only when the file's times are older than the moment it was taken by
  `RACY_NS` (2 s, more than any file system's step of time). A file written again within the same
  step as the one it was read at would show the same times with other bytes (Git's "racy" entry):
  so a file written just before a run is read and hashed again on every run until it is 2 s old.

The signature is taken before the bytes are read: a file written between the two has a newer ctime
than the one kept, and is read again on the next run. A snapshot file (`--state`) is vouched for the
same way, apart (`content_digest`, kind `snapshot-stat`): its hash keys the snapshot's cache entry
(reconciler.current), so an unchanged snapshot of megabytes is neither read nor hashed again. The
cache is trusted as the rest of it is (never when committed), and damage to it costs time: an entry
that is not one is no hit.

On two processors, the plan command has a forked copy find these answers for a big repo while it
imports the planner (`Ahead`): the walk of its customers/ folder, the stat of every file, the read of
the stat pack, the check and split of each file's claims and the question whether Git tracks the
cache are then off the path a warm re-plan waits on, and the answers are the same.
"""

from __future__ import annotations

import marshal
import os
import re
import stat
import time
from collections.abc import Callable
from itertools import chain
from pathlib import Path

from reconciler.cache import Cache, is_key
from reconciler.walk import customers_below

STAT = "stat"  # the cache's kind
RACY_NS = 2_000_000_000
_DIGEST = re.compile("sha256:[0-9a-f]{64}")
JUDGED = ("no-catalog", "a-catalog")  # what the validation rules were run with when a file's claims were kept
_ID, _SERIAL = "[a-z0-9][a-z0-9-]*", "[A-Za-z0-9][A-Za-z0-9-]*"  # domain.Id and domain.Serial
CLAIMS_FORM = re.compile(rf"(?:{'|'.join(JUDGED)}) {_ID} (?:{_ID}(?:,{_ID})*)? (?:{_SERIAL}(?:,{_SERIAL})*)?")

Kept = tuple[str, tuple[str, tuple[str, ...], tuple[str, ...]]]  # claims: (JUDGED's word, (id, PBX names, pins))
# what the copy sends: (why the cache is not used, the pack's version, the answers, the walk or None)
Sent = tuple[str, str, dict[str, tuple[str, Kept]], tuple[str, list[str], list[str], list[str]] | None]


def parsed_claims(text: str | None) -> Kept | None:
    """A clean file's claims as kept (`JUDGED`'s word, its id, its PBX names and its pins, apart by spaces and
    commas), parsed; None when there are none or the text is not that form (a name that is not one of the ids the
    models allow)."""
    if text is None or not CLAIMS_FORM.fullmatch(text):
        return None
    judged, customer, pbxes, pins = text.split(" ")
    return judged, (customer, tuple(pbxes.split(",")) if pbxes else (), tuple(pins.split(",")) if pins else ())


def signature(path: str | Path) -> tuple[str, bool] | None:
    """(the stat signature of the regular file at `path`, whether it is old enough to keep), or None (not one)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    old = max(found.st_mtime_ns, found.st_ctime_ns) < time.time_ns() - RACY_NS
    return f"{found.st_size} {found.st_mtime_ns} {found.st_ctime_ns} {found.st_ino} {found.st_dev}", old


def known_files(cache: Cache, names: list[str]) -> dict[str, tuple[str, Kept]]:
    """The files whose signature is still the one kept: name -> (the content hash, the claims) kept with it. One
    pass over the stat pack's entries for these names (or the answers a forked copy found ahead, `Ahead`): a warm
    re-plan of a big repo waits on it."""
    ahead = cache.ahead.answers(cache) if cache.ahead is not None else None
    if ahead is not None:
        found = {name: ahead[name] for name in names if name in ahead}
        cache.used(STAT, found)
        return found
    return _unchanged(cache.get_many(STAT, [name for name in names if is_key(name)]))


def walked(cache: Cache | None, directory: Path, outside: list[Path], links: set[str]) -> list[str] | None:
    """`walk.customers_below(directory, outside, links)` as a forked copy found it ahead (`Ahead`), its links
    added to `outside` and `links`; None when no copy walked `directory` for this cache (or there is none)."""
    found = cache.ahead.walk(cache, directory) if cache is not None and cache.ahead is not None else None
    if found is None:
        return None
    files, out, inside = found
    outside += map(Path, out)
    links.update(inside)
    return files


def _unchanged(kept: dict[str, str]) -> dict[str, tuple[str, Kept]]:
    """Of the stat pack's entries `kept` (name -> value), the files whose signature is still that one: name -> (the
    content hash, the claims parsed)."""
    found = {}
    for name, value in kept.items():
        parts = value.split("\t")
        if len(parts) == 3 and (seen := signature(name)) is not None and parts[0] == seen[0] \
                and _DIGEST.fullmatch(parts[1]) and (claims := parsed_claims(parts[2])) is not None:
            found[name] = (parts[1], claims)
    return found


def content_digest(cache: Cache, kind: str, path: str | Path, digest: Callable[[], str | None]) -> str | None:
    """The content hash of the file at `path`: the one kept under `kind` with the file's stat signature when the
    signature is still that one, else `digest()` (its bytes read and hashed now), kept with the signature taken
    before them when the file is old enough (a big snapshot file is not hashed again on every re-plan)."""
    name = str(path)
    seen = signature(name) if is_key(name) else None
    if seen is None:
        return digest()
    kept = (cache.get(kind, name) or "").split("\t")
    if len(kept) == 2 and kept[0] == seen[0] and _DIGEST.fullmatch(kept[1]):
        return kept[1]
    found = digest()
    if found is not None and seen[1]:
        cache.put(kind, name, f"{seen[0]}\t{found}")
    return found


def remember(cache: Cache, name: str, seen: tuple[str, bool] | None, digest: str, claims: str) -> None:
    """Keep the signature `seen` of the file `name`, taken before its bytes of `digest` were read, and its claims."""
    if seen is not None and seen[1] and is_key(name):
        cache.put(STAT, name, f"{seen[0]}\t{digest}\t{claims}")


# A stat pack of this many bytes or more (about 1,400 files) is read ahead by a forked copy; below, the fork costs
# more than it saves.
AHEAD_BYTES = 256 * 1024


class Ahead:
    """The stat answers of a big repo's files, found by a forked copy of this process (reconciler.forked) while this
    one goes on (imports the planner): a warm re-plan's walk of the customers/ folder, its stat of every file, its
    read of the stat pack and its question to Git leave the path it waits on.

    The copy reads the stat pack of the repo's cache as the run's cache would (quietly: the run's own
    cache warns when the cache is not to be used), and sends back whether the cache is to be used
    (`Cache.why`), the version that wrote the pack (the copy does not import pydantic to know its own),
    and, for every file the pack names whose signature is still the kept one, its content hash and
    claims (parsed, sent in columns whose types the run checks at C speed): `known_files` of every
    name in the pack; and its walk of the repo's customers/ folder (`walk.customers_below`), which
    `repo.discover` takes for the same directory (`walked`). `known_files` then takes the answers of
    the files the run found, when the pack's version is the run's. The answers hold for the cache
    folder they were read from only; a copy that fails, or sends what is not answers, costs time:
    the run then asks Git, walks the folder and reads the pack itself.
    """

    def __init__(self, directory: Path, child):
        self.directory, self._child, self._sent = os.path.realpath(directory), child, None

    @classmethod
    def start(cls, paths: list[str], workers: int) -> Ahead | None:
        """A copy reading ahead the stat answers of the repo directory `paths` names (one directory), when the run
        may use two processes and the repo's stat pack is big; else None."""
        if workers < 2 or len(paths or ["."]) != 1:
            return None
        root = Path((paths or ["."])[0])
        directory = Cache(root).directory
        try:
            if directory is None or os.stat(directory / f"{STAT}.json").st_size < AHEAD_BYTES:
                return None
        except OSError:
            return None
        from reconciler import forked  # only a run that reads ahead

        child = forked.Child(lambda: _read_ahead(root))
        return cls(directory, child) if child.pid is not None else None

    def why(self, cache: Cache) -> str | None:
        """Why the copy found `cache` not to be used, "" when it is to be (waited for); None when it cannot tell."""
        sent = self._read(cache)
        return sent[0] if sent is not None else None

    def answers(self, cache: Cache) -> dict[str, tuple[str, Kept]] | None:
        """The copy's answers (waited for) when `cache` is the one they were read from and the stat pack's version
        is the run's; else None."""
        sent = self._read(cache)
        return sent[2] if sent is not None and sent[1] == cache.tag else None

    def walk(self, cache: Cache, directory: Path) -> tuple[list[str], list[str], list[str]] | None:
        """The copy's walk of `directory`'s customers/ folder (waited for): (the files, the links leading out, the
        links inside), when `cache` is the one the copy read and it walked that directory; else None."""
        sent = self._read(cache)
        walk = sent[3] if sent is not None else None
        return walk[1:] if walk is not None and walk[0] == str(directory) else None

    def _read(self, cache: Cache) -> Sent | None:
        if self._child is not None:
            child, self._child = self._child, None
            self._sent = _decoded(child.result())
        same = cache.directory is not None and os.path.realpath(cache.directory) == self.directory
        return self._sent if same else None

    def stop(self) -> None:
        """End the copy if it still runs (a run that did not ask: an error, Ctrl-C)."""
        if self._child is not None:
            self._child.stop()
            self._child = None


def _read_ahead(root: Path) -> bytes:
    """A forked copy's work: why the cache is not used ("" when it is), the stat pack's version, `_unchanged` of
    every entry of the pack in columns (names, hashes, JUDGED's words, ids, PBX names, pins), and the walk of the
    customers/ folder (the root walked, the files, the links leading out and those inside; None: no such folder)."""
    cache = Cache(root, copy=True)
    cache.trusted()  # asked whatever the pack holds: the run takes this answer for its whole cache
    found = _unchanged(cache.entries(STAT))
    rows = [(name, digest, judged, *claims) for name, (digest, (judged, claims)) in found.items()]
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in range(6)]
    outside: list[Path] = []
    links: set[str] = set()
    try:
        files = customers_below(root, outside, links)
    except OSError:  # the run walks it itself, and says what went wrong
        files = None
    walk = (str(root), files, [str(path) for path in outside], sorted(links)) if files is not None else None
    return marshal.dumps((cache.why, cache.versions.get(STAT, ""), columns, walk))


def _decoded(data: bytes | None) -> Sent | None:
    """What a copy sent (why, the pack's version, the answers, the walk), or None when it is not that."""
    try:
        sent = marshal.loads(data) if data is not None else None
    except (EOFError, ValueError, TypeError):
        return None
    if type(sent) is not tuple or len(sent) != 4 or type(sent[0]) is not str or type(sent[1]) is not str:
        return None
    why, version, columns, walk = sent
    if type(columns) is not list or len(columns) != 6 or set(map(type, columns)) != {list} \
            or len({len(column) for column in columns}) != 1:
        return None
    names, digests, judged, ids, pbxes, pins = columns
    if not {*map(type, names), *map(type, digests), *map(type, judged), *map(type, ids)} <= {str} \
            or not {*map(type, pbxes), *map(type, pins)} <= {tuple} \
            or not set(map(type, chain.from_iterable((*pbxes, *pins)))) <= {str}:
        return None
    if walk is not None and (type(walk) is not tuple or len(walk) != 4 or type(walk[0]) is not str
                             or set(map(type, walk[1:])) != {list} or not set(map(type, chain(*walk[1:]))) <= {str}):
        return None
    return why, version, dict(zip(names, zip(digests, zip(judged, zip(ids, pbxes, pins))))), walk
