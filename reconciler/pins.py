"""Which customer files pin which devices, and which file is which customer's: a repo's index at a Git commit.

`--changed-since` plans the changed files' customers and the other side of their device
transfers: any customer whose file pins a device in play, and the customer a pinned device
comes from (reconciler.scope). Finding those files by reading every other file of a big
repo costs as much as the repo; this index answers from what the files held at the merge
base instead. A file that Git says is unchanged since that commit holds what it held then,
so what its model said then (its customer id and pinned serials) holds now.

The index is kept in the repo's cache (reconciler.cache, kind `pins`), keyed by the id of
the repo directory's tree at the commit (a hash of everything in it): a hit reads one short
entry. When the commit is another one (a branch made from a newer main), the index is made
again from the files' blob ids (`git ls-tree`): a file whose blob it knew keeps its record,
and only the others are loaded. What the index does not vouch for is read as before: a
file that changed since the commit, one Git does not track (untracked, ignored, below a
linked folder), a symbolic link, and a file whose model did not load (its text is what is
looked for in it). The index only picks which files to load: whether a loaded file takes
part is decided on its model, as without the index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from reconciler.cache import Cache, compact
from reconciler.gitops import tracked_at, tree_at
from reconciler.repo import read_customer

KIND = "pins"
KEY = "latest"  # one index: the latest commit's (its tree id is inside)
FORMAT = 1


class PinIndex:
    """The files the index vouches for (`known`), who pins each serial and which files name each customer."""

    def __init__(self, known: Iterable[str], pins: dict[str, list[str]], customers: dict[str, list[str]]):
        self.known = frozenset(known)
        self._pins, self._customers = pins, customers

    def reaching(self, serials: Iterable[str], customers: Iterable[str]) -> set[str]:
        """The known files that pin one of these serials or are one of these customers' (relative paths)."""
        found: set[str] = set()
        for serial in serials:
            found.update(self._pins.get(serial, ()))
        for customer in customers:
            found.update(self._customers.get(customer, ()))
        return found


def pin_index(root: Path, commit: str, candidates: list[tuple[str, Path]], changed: frozenset[str],
              cache: Cache | None) -> PinIndex | None:
    """The index of the repo at `root` as of `commit`, for `candidates` (relative path, path); None: read the files.

    `changed`: the files (relative paths) that differ from `commit`, which it never vouches for.
    """
    if cache is None or cache.directory is None:
        return None
    tree = tree_at(root, commit)
    if tree is None:
        return None
    head, rest = _decode(cache.get(KIND, KEY))
    if head is not None and head.get("tree") == tree:
        return PinIndex(head["known"], head["pins"], head["customers"])
    tracked = tracked_at(root, commit)
    if tracked is None:
        return None
    records = _records(rest)
    kept: dict[str, list] = {}
    for relative, path in candidates:
        blob = tracked.get(relative)
        if blob is None or relative in changed or os.path.islink(path):
            continue
        record = records.get(relative)
        if not (isinstance(record, list) and len(record) == 2 and record[0] == blob):
            source, _, _ = read_customer(path, str(path), None, cache)
            record = [blob, None if source is None else [source.model.customer, sorted(
                {serial for pbx in source.model.pbxes.values() for serial in pbx.pinned})]]
        kept[relative] = record
    index = _inverted(tree, kept)
    cache.replace(KIND, KEY, compact(index) + "\n" + compact(kept))
    cache.save()
    return PinIndex(index["known"], index["pins"], index["customers"])


def _inverted(tree: str, kept: dict[str, list]) -> dict:
    pins: dict[str, list[str]] = {}
    customers: dict[str, list[str]] = {}
    known = []
    for relative, (_, model) in kept.items():
        if model is None:
            continue
        known.append(relative)
        customers.setdefault(model[0], []).append(relative)
        for serial in model[1]:
            pins.setdefault(serial, []).append(relative)
    return {"format": FORMAT, "tree": tree, "known": known, "pins": pins, "customers": customers}


def _decode(value: str | None) -> tuple[dict | None, str]:
    """(the index of a cache value, or None; the text of its files' records, for the index of another commit)."""
    line, _, rest = (value or "").partition("\n")
    try:
        head = json.loads(line) if line else None
    except (ValueError, RecursionError):
        return None, ""
    if not (isinstance(head, dict) and head.get("format") == FORMAT and isinstance(head.get("known"), list)
            and isinstance(head.get("pins"), dict) and isinstance(head.get("customers"), dict)):
        return None, rest
    return head, rest


def _records(text: str) -> dict:
    try:
        found = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}
