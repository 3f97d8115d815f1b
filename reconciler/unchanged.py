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
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.cache import Cache, is_key

STAT = "stat"  # the cache's kind
RACY_NS = 2_000_000_000
_DIGEST = re.compile("sha256:[0-9a-f]{64}")


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


def known_files(cache: Cache, names: list[str]) -> dict[str, tuple[str, str]]:
    """The files whose signature is still the one kept: name -> (the content hash, the claims) kept with it. One
    pass over the stat pack's entries for these names: a warm re-plan of a big repo waits on it."""
    found = {}
    for name, value in cache.get_many(STAT, [name for name in names if is_key(name)]).items():
        parts = value.split("\t")
        if len(parts) == 3 and (seen := signature(name)) is not None and parts[0] == seen[0] \
                and _DIGEST.fullmatch(parts[1]):
            found[name] = (parts[1], parts[2])
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

