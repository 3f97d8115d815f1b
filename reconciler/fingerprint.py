"""Fingerprints and canonical JSON: how a plan, a portal state and the desired files are hashed, once.

A saved plan's checksum, the portal state's fingerprint (the stale-plan check, resuming a
run, the HTTP portal's state version) and the desired files' fingerprint are written by
one command and checked by another, sometimes by another version or on another machine:
each must be computed the same way everywhere, so each is computed here and nowhere else.
Canonical JSON is sorted keys, no whitespace and UTF-8 text (`ensure_ascii=False`, as
RFC 8785 writes strings); paths inside a fingerprint are relative to the repo root, so
how a path was spelled on the command line does not matter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.snapshot import Snapshot

MISSING = b"\0missing"  # the content a file that is gone counts as: it always reads as changed


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
    return digest(canonical(state))


def fingerprint_state(snapshot: Snapshot) -> str:
    """The fingerprint of a portal snapshot: what a saved plan records as `fingerprints.current`."""
    return state_fingerprint(snapshot.model_dump(mode="json"))


def repo_relative(path: str, root: Path | None) -> str:
    """`path` (as given on the command line) relative to the repo root, as a POSIX path; absolute if outside it."""
    resolved, base = Path(path).resolve(), Path(root or ".").resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def desired_paths(files: Iterable[str], config_path: str | None, root: Path | None = None) -> list[str]:
    """The desired-state files (customer files and the configuration), each relative to the repo root."""
    return sorted(repo_relative(p, root) for p in [*files] + ([config_path] if config_path else []))


def fingerprint_paths(paths: list[str], root: Path | None = None) -> str:
    """One digest of these files' names (relative to `root`) and contents; a file that is gone counts as changed."""
    hashed = hashlib.sha256()
    for path in sorted(paths):
        try:
            content = (Path(root or ".") / path).read_bytes()
        except FileNotFoundError:
            content = MISSING
        hashed.update(path.encode() + b"\0" + content + b"\0")
    return "sha256:" + hashed.hexdigest()


def fingerprint_files(files: Iterable[str], config_path: str | None, root: Path | None = None) -> str:
    """The desired fingerprint of a repo: its customer files and configuration, named relative to `root`."""
    return fingerprint_paths(desired_paths(files, config_path, root), root)
