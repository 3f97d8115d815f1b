"""What loading made of a file's content, kept between runs under the repo's `.reconciler/cache/`.

An optimisation only: a warm re-plan of a big repo after one file changed parses and binds
that one file, not all of them. Every answer the cache gives is one the loader would have
made itself from the same content, so any damage to the cache only costs time:

- an entry is keyed by the SHA-256 of the content it was made from (`content_key`): a
  changed file is a miss, whatever its name, date or size;
- a value is JSON text (never pickle: a restored CI cache is data, it cannot run code);
- one pack file per kind, `<kind>.json`: a header line (the format and the versions of
  reconciler, pydantic and the model modules that made it, and the SHA-256 of the body),
  then the entries. A pack that is missing, truncated, edited, unreadable or written by
  another version reads as empty and is replaced at the next save;
- it is written only inside the repo's own `.reconciler/` folder (never through a link
  that leads out of the repo), atomically (a temporary file moved into place).

Interface: `get(kind, key) -> str | None`, `put(kind, key, value)`, `save()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from reconciler import __version__

FORMAT = 1
DIRECTORY = Path(".reconciler") / "cache"
MAX_ENTRIES = 200_000  # per kind: past it, a save keeps only the entries this run used
_MODEL_MODULES = ("desired.py", "domain.py", "binding.py", "cache.py", "repo.py", "yamlio.py")  # what a cached value's shape depends on


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def version_tag() -> str:
    """Who wrote a pack: reconciler, pydantic and the source of the modules whose models are cached."""
    import pydantic

    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _MODEL_MODULES:
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return (f"reconciler {__version__}; format {FORMAT}; pydantic {pydantic.VERSION}; "
            f"python {sys.version_info[0]}.{sys.version_info[1]}; models {digest.hexdigest()[:16]}")


class Cache:
    """The cache of one repo root; `Cache(None)` (no repo) keeps nothing and finds nothing."""

    def __init__(self, root: Path | None):
        self.directory = _inside(root) if root is not None else None
        self._packs: dict[str, dict[str, str]] = {}
        self._used: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self._tag: str | None = None

    @property
    def tag(self) -> str:
        if self._tag is None:
            self._tag = version_tag()
        return self._tag

    def get(self, kind: str, key: str) -> str | None:
        value = self._pack(kind).get(key)
        if value is not None:
            self._used.setdefault(kind, set()).add(key)
        return value

    def put(self, kind: str, key: str, value: str) -> None:
        if self.directory is None:
            return
        pack = self._pack(kind)
        self._used.setdefault(kind, set()).add(key)
        if pack.get(key) != value:
            pack[key] = value
            self._dirty.add(kind)

    def save(self) -> None:
        """Write the packs that changed; a cache that cannot be written is left as it was (no error)."""
        if self.directory is None:
            return
        for kind in sorted(self._dirty):
            pack = self._packs[kind]
            if len(pack) > MAX_ENTRIES:
                used = self._used.get(kind, set())
                pack = {key: value for key, value in pack.items() if key in used}
            body = json.dumps(pack, separators=(",", ":"), sort_keys=True)
            header = json.dumps({"version": self.tag, "sha256": hashlib.sha256(body.encode()).hexdigest()})
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                if _inside(self.directory.parent.parent) != self.directory:  # made meanwhile as a link out
                    return
                temporary = self.directory / f".{kind}.{os.getpid()}.tmp"
                temporary.write_text(f"{header}\n{body}", encoding="utf-8")
                os.replace(temporary, self.directory / f"{kind}.json")
            except OSError:
                continue
        self._dirty.clear()

    def _pack(self, kind: str) -> dict[str, str]:
        if kind not in self._packs:
            self._packs[kind] = self._read(kind)
        return self._packs[kind]

    def _read(self, kind: str) -> dict[str, str]:
        if self.directory is None:
            return {}
        try:
            header, body = (self.directory / f"{kind}.json").read_text(encoding="utf-8").split("\n", 1)
            head = json.loads(header)
            if head.get("version") != self.tag or head.get("sha256") != hashlib.sha256(body.encode()).hexdigest():
                return {}
            pack = json.loads(body)
        except (OSError, ValueError, AttributeError):  # missing, truncated, not UTF-8, not JSON, not a header
            return {}
        if not isinstance(pack, dict) or not all(isinstance(v, str) for v in pack.values()):
            return {}
        return pack


def _inside(root: Path) -> Path | None:
    """`root/.reconciler/cache`, unless a link would take it out of the repo (then no cache)."""
    directory = root / DIRECTORY
    try:
        resolved_root = root.resolve()
        if not directory.resolve().is_relative_to(resolved_root / DIRECTORY.parts[0]) or not (
                resolved_root / DIRECTORY.parts[0]).resolve().is_relative_to(resolved_root):
            return None
    except (OSError, RuntimeError):
        return None
    return directory
