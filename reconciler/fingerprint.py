"""Fingerprints and canonical JSON: how a plan, a portal state and the desired files are hashed, once.

A saved plan's checksum, the portal state's fingerprint (the stale-plan check, resuming a
run, the HTTP portal's state version) and the desired files' fingerprint are written by
one command and checked by another, sometimes by another version or on another machine:
each must be computed the same way everywhere, so each is computed here and nowhere else.
Canonical JSON is sorted keys, no whitespace and UTF-8 text (`ensure_ascii=False`, as
RFC 8785 writes strings); paths inside a fingerprint are relative to the repo root, so
how a path was spelled on the command line does not matter. The desired fingerprint is one
SHA-256 over each file's repo-relative name and the SHA-256 of its bytes: a plan makes it from
the hashes the loader took of the bytes it parsed (nothing is read twice, and it is the
fingerprint of exactly what was planned); apply makes it by reading the files again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from reconciler.paths import relative_name

if TYPE_CHECKING:
    from reconciler.loader import Inputs
    from reconciler.snapshot import Snapshot

MISSING = "missing"  # the digest a file that is gone counts as: never a real digest, so it always reads as changed


def canonical(data) -> str:
    """The one canonical JSON text of `data`: sorted keys, no whitespace, UTF-8 characters kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str | bytes) -> str:
    """`sha256:<hex>` of `text` (UTF-8 when a string)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def document_checksum(data: dict, without: str) -> str:
    """The checksum of a document, covering everything but its own `without` key."""
    return digest(canonical({key: value for key, value in data.items() if key != without}))


def state_fingerprint(state: dict) -> str:
    """The fingerprint of a portal state as JSON (a snapshot's `model_dump(mode="json")`)."""
    return digest(canonical_bytes(state))


def canonical_bytes(data) -> bytes:
    """`canonical(data)` as UTF-8, written by orjson (a big snapshot's text in a fifth of json's time).

    For JSON data without floats the two write the same bytes: keys sorted by code point (UTF-8's
    byte order is the same), the same escapes, UTF-8 characters kept; tests/test_fingerprint.py holds
    them equal. A snapshot has no float (no model field is one: the same test). What orjson refuses
    (an integer past 64 bits, a lone surrogate, a key that is not a string) goes to json, as before.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return canonical(data).encode("utf-8")


def fingerprint_state(snapshot: Snapshot) -> str:
    """The fingerprint of a portal snapshot: what a saved plan records as `fingerprints.current`.

    `state_fingerprint(snapshot.model_dump(mode="json"))`, made from its pieces (`pieced_fingerprint`): never
    the whole portal's values at once (a big snapshot's dump is as big as the models themselves).
    """
    customers = snapshot.customers
    pieces = ((cid, canonical_bytes(customers[cid].model_dump(mode="json"))) for cid in sorted(customers))
    return pieced_fingerprint(snapshot.model_dump(mode="json", exclude={"customers"}), pieces)


def pieced_fingerprint(head: dict, customers: Iterable[tuple[str, str | bytes]]) -> str:
    """`state_fingerprint` of a state given in pieces, hashed as its canonical JSON is written: the state without
    its customers (JSON data), and each customer's id and canonical JSON, in the order of their ids."""
    hashed = hashlib.sha256(b"{")
    for number, key in enumerate(sorted([*head, "customers"])):
        hashed.update((b"," if number else b"") + canonical_bytes(key) + b":")
        if key != "customers":
            hashed.update(canonical_bytes(head[key]))
            continue
        hashed.update(b"{")
        for count, (cid, text) in enumerate(customers):
            hashed.update((b"," if count else b"") + canonical_bytes(cid) + b":"
                          + (text if isinstance(text, bytes) else text.encode("utf-8")))
        hashed.update(b"}")
    hashed.update(b"}")
    return "sha256:" + hashed.hexdigest()


def repo_relative(path: str, root: Path | None) -> str:
    """`path` (as given on the command line) relative to the repo root, as a POSIX path; absolute if outside it."""
    return relative_name(os.path.realpath(path), os.path.realpath(root or "."))


def desired_paths(inputs: Inputs) -> list[str]:
    """The desired-state files of a run (its customer files and the configuration), each relative to the repo root."""
    return sorted(inputs.names[path] for path in _desired(inputs))


def combine(named: Iterable[tuple[str, str]]) -> str:
    """One digest of files given as (name relative to the repo root, `sha256:` digest of the content) pairs.

    A file's content enters through its own digest, so the loader's hashes of the bytes it read
    make the fingerprint without reading any file again; the order the pairs come in does not matter.
    """
    hashed = hashlib.sha256()
    for name, content in sorted(named):
        hashed.update(f"{name}\0{content}\0".encode("utf-8", "surrogateescape"))
    return "sha256:" + hashed.hexdigest()


def fingerprint_paths(paths: list[str], root: Path | None = None) -> str:
    """One digest of these files' names (relative to `root`) and contents; a file that is gone counts as changed."""
    named = []
    for path in paths:
        try:
            content = digest((Path(root or ".") / path).read_bytes())
        except FileNotFoundError:
            content = MISSING
        named.append((path, content))
    return combine(named)


def fingerprint_inputs(inputs: Inputs) -> str:
    """The desired fingerprint of a run's inputs, from the hashes of the bytes the loader read (no file read again)."""
    return combine((inputs.names[path], inputs.hashes.get(path, MISSING)) for path in _desired(inputs))


def _desired(inputs: Inputs) -> list[str]:
    return [source.path for source in inputs.customers] + ([inputs.config_path] if inputs.config_path else [])
