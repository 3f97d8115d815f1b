"""What loading made of a file's content, kept between runs under the repo's `.reconciler/cache/`.

An optimisation only: a warm re-plan of a big repo after one file changed parses and binds
that one file, not all of them. Every answer the cache gives is one the loader would have
made itself from the same content, so any damage to the cache only costs time:

- an entry is keyed by the SHA-256 of the content it was made from (`content_key`): a
  changed file is a miss, whatever its name, date or size;
- a value is JSON text (never pickle: a restored CI cache is data, it cannot run code);
- one pack file per kind, `<kind>.json`, or for the customer files' models and their claims 256
  of them by the last two hex digits of the key, `customer/<xx>.json` and `claims/<xx>.json`:
  a re-plan after one file changed reads and writes one small pack of each, and
  `--changed-since` reads only the packs of the files it loads (the parts of a warm plan are
  one pack, `plan.json`, which keeps only what its last run used: reconciler.warm, and the
  customer files' stat signatures another, `stat.json`: reconciler.unchanged). A
  pack is a header line (the format and the versions of reconciler, pydantic and the model
  modules that made it, and the SHA-256 of the body), then the entries, each its key, a
  space, the value's length, a space, the value as it is and a newline: a warm run slices
  the values out instead of decoding escaped JSON (the snapshot's is megabytes). A pack that is
  missing, truncated, edited, unreadable or written by another version reads as empty and
  is replaced at the next save;
- it is written only inside the repo's own `.reconciler/` folder (never through a link
  that leads out of the repo), atomically (a temporary file moved into place); a run that puts
  megabytes of values (a cold run of a big repo) keeps them until `save` in an unlinked file of
  the cache folder, not in memory (`SPILL_CHARACTERS`).

Trust. A key is the hash of a file's content, so a pack can be forged: a pull request that
commits `.reconciler/cache/customer.json` with an honest file's hash and a made-up model
would make the plan hide or invent steps, and the checksum in the header proves nothing
(the forger writes it too). So a pack is used only when it was not committed: one written
on this machine by an earlier run, or restored by CI from its own cache, which only runs
of reconciler wrote. When Git tracks any file under `.reconciler/cache/` (asked once per
run, with `git ls-files`, only inside a Git work tree), no pack is read or written
and a warning says why; when the repo sits in a Git work tree but Git cannot answer (not
installed, a refused repo), the cache is not used either. Outside Git nothing was checked
out from a pull request, and the cache is used. Binding each pack to a secret kept outside
the repo was the other choice, and it was not taken: a CI runner starts from nothing, so a
restored cache would never match its key, and the cache would be lost exactly where a
re-plan of the whole repo runs most (apply, the schedule).

Interface: `get(kind, key) -> str | None`, `put(kind, key, value)`, `replace(kind, key, value)`
(the pack keeps that entry alone), `save()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import orjson

from reconciler import __version__

FORMAT = 4  # 2: entries as key, length and value; 3: a customer's claims kept apart from its model; 4: claims in shards
DIRECTORY = Path(".reconciler") / "cache"
MAX_ENTRIES = 200_000  # per kind: past it, a save keeps only the entries this run used
SHARDS = {"customer": 256, "claims": 256}  # kinds kept in packs by the key's last two hex digits
LATEST = frozenset({"plan"})  # kinds whose every entry a run asks for: a save keeps only those this run used
# Past this much text put in one run (a cold run of a big repo puts a model for every customer file), each value
# waits for `save` in an unlinked temporary file of the cache folder instead of in memory: a value is short
# text the allocator seldom gives back, and a cold run of 10,000 customers held 16 MB of them to its end.
SPILL_CHARACTERS = 2 * 1024 * 1024
# what a cached value's shape depends on, and the rules whose verdict on a customer a hit keeps (every rules/ module:
# the registry may gather a validation rule from any)
_MODEL_MODULES = ("desired.py", "domain.py", "binding.py", "cache.py", "repo.py", "source.py", "unchanged.py",
                  "yamlio.py", "yamlcore.py", "yamltext.py", "positions.py", "snapshot.py", "current.py",
                  "fingerprint.py", "providers/snapshot.py", "rules/")


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def version_tag() -> str:
    """Who wrote a pack: reconciler, pydantic and the source of the modules whose models are cached."""
    import pydantic

    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _MODEL_MODULES:
        try:
            files = sorted((here / name).glob("*.py")) if name.endswith("/") else [here / name]
            for file in files:
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
        except OSError:
            digest.update(name.encode())
    return (f"reconciler {__version__}; format {FORMAT}; pydantic {pydantic.VERSION}; "
            f"python {sys.version_info[0]}.{sys.version_info[1]}; models {digest.hexdigest()[:16]}")


def compact(data) -> str:
    """A value's compact JSON text, written by orjson (a cold run of a big repo writes thousands: a quarter of
    json's time); what orjson refuses (an integer past 64 bits, a lone surrogate, a key not a string) by json."""
    try:
        return orjson.dumps(data).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, separators=(",", ":"))


class Cache:
    """The cache of one repo root; `Cache(None)` (no repo) keeps nothing and finds nothing.

    `copy`: a forked copy's cache (`unchanged.Ahead`), which never warns (its parent's says why a cache is not
    used), and reads a pack of any version, keeping the version each was written by in `versions`: the copy
    does not import pydantic to name its own, and its parent, which has, uses what it read only when they are
    the same. `why`: why the cache is not used, "" when it is (None until `trusted` is asked).
    `ahead`: what a forked copy read of it ahead of the run (`unchanged.Ahead`), set by the run that started it.
    """

    def __init__(self, root: Path | None, copy: bool = False):
        self.directory = _inside(root) if root is not None else None
        self.copy = copy
        self.versions: dict[str, str] = {}
        self.why: str | None = None
        self.ahead = None
        self._packs: dict[str, dict[str, str]] = {}
        self._used: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self._tag: str | None = None
        self._held = 0  # characters put this run, spilled or not
        self._spill = None  # the file of the values that wait for `save` on disk (`_kept`)
        self._spilled = 0  # its length

    @property
    def tag(self) -> str:
        if self._tag is None:
            self._tag = version_tag()
        return self._tag

    def get(self, kind: str, key: str) -> str | None:
        name = _pack_name(kind, key)
        value = self._pack(name).get(key)
        if value is not None:
            self._used.setdefault(name, set()).add(key)
        return self._value(value)

    def get_many(self, kind: str, keys: list[str]) -> dict[str, str]:
        """`get` of many keys: key -> value of those the cache holds (in the order of `keys`)."""
        if kind in SHARDS:
            return {key: value for key in keys if (value := self.get(kind, key)) is not None}
        pack = self._pack(kind)
        found = {key: pack[key] for key in keys if key in pack}
        self._used.setdefault(kind, set()).update(found)
        return found if self._spill is None else {key: self._value(value) for key, value in found.items()}

    def entries(self, kind: str) -> dict[str, str]:
        """Every entry of `kind` (a kind in one pack, not in shards): key -> value."""
        return {key: self._value(value) for key, value in self._pack(_whole(kind)).items()}

    def used(self, kind: str, keys: Iterable[str]) -> None:
        """Count `keys` of `kind` (in one pack) as asked for by this run, as `get` counts what it finds: a save
        that keeps only the entries a run used keeps those."""
        self._used.setdefault(_whole(kind), set()).update(keys)

    def put(self, kind: str, key: str, value: str) -> None:
        if self.directory is None:
            return
        _check_key(key)
        name = _pack_name(kind, key)
        pack = self._pack(name)
        self._used.setdefault(name, set()).add(key)
        if self._value(pack.get(key)) != value:
            pack[key] = self._kept(value)
            self._dirty.add(name)

    def replace(self, kind: str, key: str, value: str) -> None:
        """Make `key` the one entry of `kind` (a pack that keeps only the latest, e.g. the portal's snapshot)."""
        if self.directory is None:
            return
        if kind in SHARDS:
            raise ValueError(f"the {kind} cache keeps many entries")
        _check_key(key)
        if self._pack(kind) != {key: value}:
            self._packs[kind] = {key: value}
            self._used[kind] = {key}
            self._dirty.add(kind)

    def save(self) -> None:
        """Write the packs that changed; a cache that cannot be written is left as it was (no error). A copy's
        cache is read only: it may hold packs of another version."""
        if self.directory is None or self.copy or not self.trusted():
            return
        for name in sorted(self._dirty):
            pack = self._packs[name]
            if name in LATEST or len(pack) > MAX_ENTRIES // SHARDS.get(name.split("/")[0], 1):
                used = self._used.get(name, set())
                pack = {key: value for key, value in pack.items() if key in used}
            entries = ((key, self._value(kept)) for key, kept in sorted(pack.items()))
            path = self.directory / f"{name}.json"
            try:
                if not self._ready(path):
                    return
                temporary = path.parent / f".{path.name}.{os.getpid()}.tmp"
                with open(temporary, "wb") as out:  # the body hashed as it is written, then its header put before it
                    out.write(self._header("0" * 64))
                    hashed = hashlib.sha256()
                    for piece in _body(entries):
                        data = piece.encode("utf-8")
                        hashed.update(data)
                        out.write(data)
                    out.seek(0)
                    out.write(self._header(hashed.hexdigest()))
                os.replace(temporary, path)
            except OSError:
                continue
            del self._packs[name]  # on disk now: a later `get` reads it back; a big run keeps no megabytes it wrote
        self._dirty.clear()
        if self._spill is not None and not any(type(value) is _Spilled for pack in self._packs.values()
                                               for value in pack.values()):
            self._spill.close()  # every value it held is in its pack now
            self._spill, self._spilled, self._held = None, 0, 0

    def _header(self, digest: str) -> bytes:
        """A pack's first line: the format and versions that wrote it, and the SHA-256 of its body (`digest`)."""
        return (json.dumps({"version": self.tag, "sha256": digest}) + "\n").encode("utf-8")

    def _kept(self, value: str) -> str | _Spilled:
        """How `put` keeps a value until `save`: itself, or past SPILL_CHARACTERS its place in the spill file."""
        self._held += len(value)
        if self._held <= SPILL_CHARACTERS or not hasattr(os, "pwrite") or not self.trusted():
            return value
        try:
            if self._spill is None:
                import tempfile  # only a run that spills pays for it (start-up)

                if not self._ready(self.directory / "spill"):
                    return value
                self._spill, self._spilled = tempfile.TemporaryFile(dir=self.directory, buffering=0), 0
            data, offset = memoryview(value.encode("utf-8", "surrogatepass")), self._spilled
            while data:  # at offsets of its own: nothing buffered, no file position shared with a forked copy
                written = os.pwrite(self._spill.fileno(), data, self._spilled)
                self._spilled, data = self._spilled + written, data[written:]
        except OSError:
            return value
        return _Spilled(offset, self._spilled - offset)

    def _value(self, kept: str | _Spilled | None) -> str | None:
        """A value as `put` kept it, read back from the spill file when it waits there (a forked copy of the process
        reads it there too: nothing is buffered, and a read names its offset)."""
        if type(kept) is not _Spilled:
            return kept
        return os.pread(self._spill.fileno(), kept.length, kept.offset).decode("utf-8", "surrogatepass")

    def _pack(self, kind: str) -> dict[str, str]:
        if kind not in self._packs:
            self._packs[kind] = self._read(kind)
        return self._packs[kind]

    def _read(self, name: str) -> dict[str, str]:
        if self.directory is None:
            return {}
        pack = self.directory / f"{name}.json"
        if not pack.is_file() or not self.trusted() or not self._within(pack):
            return {}
        try:
            data = pack.read_bytes()
            cut = data.index(b"\n")
            head = json.loads(data[:cut])
            body = memoryview(data)[cut + 1:]
            version = head.get("version")
            if not isinstance(version, str) or not self.copy and version != self.tag \
                    or head.get("sha256") != hashlib.sha256(body).hexdigest():
                return {}
            entries = _body_entries(body)
            if self.copy:
                self.versions[name] = version
            return entries
        except (OSError, ValueError, AttributeError, RecursionError):  # missing, truncated, not UTF-8, no header
            return {}

    def _ready(self, file: Path) -> bool:
        """Make the folder `file` is written in; whether it is still the repo's cache (not made meanwhile as a link
        that leads out of the repo)."""
        file.parent.mkdir(parents=True, exist_ok=True)
        return _inside(self.directory.parent.parent) == self.directory and self._within(file)

    def _within(self, pack: Path) -> bool:
        """A pack in a folder of the cache is read and written there only, never through a link out of it."""
        try:
            return pack.parent == self.directory or pack.parent.resolve().is_relative_to(self.directory.resolve())
        except (OSError, RuntimeError):
            return False

    def trusted(self) -> bool:
        """Whether this cache was not committed (see the module's docstring); asked once, warned once."""
        if self.why is None:
            told = self.ahead.why(self) if self.ahead is not None else None  # a copy's answer for this folder
            self.why = (told if told is not None else
                        _committed(self.directory.parent.parent) if self.directory is not None else None) or ""
            if self.why and not self.copy:
                print(f"warning: the cache under {self.directory} is not used: {self.why}. A committed cache could "
                      "make a plan hide or invent steps; remove it from Git (git rm -r --cached .reconciler/cache) "
                      "and ignore the folder (.gitignore: .reconciler/)", file=sys.stderr)
        return not self.why


class _Spilled:
    """Where a value put this run waits in the spill file: its offset and length in bytes."""

    __slots__ = ("offset", "length")

    def __init__(self, offset: int, length: int):
        self.offset, self.length = offset, length


def is_key(key: str) -> bool:
    """Whether `key` can key an entry: one word, as a pack's line holds it (no space, no newline)."""
    return bool(key) and " " not in key and "\n" not in key


def _check_key(key: str) -> None:
    if not is_key(key):
        raise ValueError(f"a cache key is one word: {key!r}")


PIECE = 1 << 20  # characters written (and hashed) at a time: a big pack is never copied whole to be saved


def _body(entries: Iterable[tuple[str, str]]):
    """A pack's body in pieces of about PIECE characters: each entry its key, a space, the value's length, a space,
    the value and a newline (small entries joined into a piece, a big value cut into several)."""
    pending: list[str] = []
    size = 0
    for key, value in entries:
        if len(value) <= PIECE:
            pending.append(f"{key} {len(value)} {value}\n")
            size += len(value)
            if size >= PIECE:
                yield "".join(pending)
                pending, size = [], 0
            continue
        pending.append(f"{key} {len(value)} ")
        yield "".join(pending)
        for start in range(0, len(value), PIECE):
            yield value[start:start + PIECE]
        pending, size = ["\n"], 0
    if pending:
        yield "".join(pending)


def _body_entries(body: memoryview | bytes) -> dict[str, str]:
    """A pack's entries from its body's bytes (UTF-8); ValueError when it is not entries as `save` writes them.

    A body of one big entry (the snapshot's pack: megabytes) has that value decoded alone from the bytes,
    not the whole body and then a slice copied off it: each fresh copy of megabytes costs its page faults.
    Any other body is decoded whole and read by `_entries`, which gives the same answer for that one too."""
    single = _one_entry(body)
    return single if single is not None else _entries(str(body, "utf-8"))


def _one_entry(body: memoryview | bytes) -> dict[str, str] | None:
    """The entry of a body that is exactly one entry whose value is most of it, or None (then `_entries`)."""
    prefix = bytes(body[:256])  # a key is a content hash or a path: a longer one is not read here
    space = prefix.find(b" ")
    gap = prefix.find(b" ", space + 1)
    if space <= 0 or gap < 0 or not prefix[space + 1:gap].isdigit():  # bytes.isdigit: ASCII digits only
        return None
    length, start = int(prefix[space + 1:gap]), gap + 1
    rest = len(body) - start - 1  # the value's bytes, the body being one entry and its newline
    if rest < length or rest > 4 * length or body[-1] != 0x0A:  # UTF-8: 1 to 4 bytes a character
        return None
    value = str(body[start:len(body) - 1], "utf-8")
    if len(value) != length:  # more than one entry after all
        return None
    return {str(prefix[:space], "utf-8"): value}


def _entries(body: str) -> dict[str, str]:
    """A pack's entries from its body; ValueError when it is not entries as `save` writes them.

    Most packs hold values of one line each (compact JSON, claims, signatures): their body is split
    into lines, each checked to be one whole entry. A pack whose first value spans lines (the
    snapshot's: megabytes, never copied for the asking), or any line that is not an entry, is walked
    entry by entry (`_walked`), which gives the same answer: the lines give one only when each is an
    entry as the walk reads it.
    """
    try:
        _, start, stop = _bounds(body, 0)
        by_lines = body.find("\n", start, stop) < 0
    except ValueError:
        by_lines = False
    if by_lines:
        entries = {}
        lines = body.split("\n")
        if lines.pop() == "":
            for line in lines:
                parts = line.split(" ", 2)
                if len(parts) != 3 or not parts[0] or not parts[1].isascii() or not parts[1].isdigit() \
                        or len(parts[2]) != int(parts[1]):
                    break
                entries[parts[0]] = parts[2]
            else:
                return entries
    return _walked(body)


def _walked(body: str) -> dict[str, str]:
    """A body's entries read one after the other by their lengths."""
    entries, at, end = {}, 0, len(body)
    while at < end:
        space, start, stop = _bounds(body, at)
        entries[body[at:space]] = body[start:stop]
        at = stop + 1
    return entries


def _bounds(body: str, at: int) -> tuple[int, int, int]:
    """Where the entry that starts at `at` has its key's end, its value's start and its value's end; ValueError
    when none starts there."""
    space = body.index(" ", at)
    gap = body.index(" ", space + 1)
    length = body[space + 1:gap]
    if space == at or not length.isascii() or not length.isdigit():
        raise ValueError("not an entry")
    start = gap + 1
    stop = start + int(length)
    if stop >= len(body) or body[stop] != "\n":
        raise ValueError("not an entry")
    return space, start, stop


_SHARD_NAMES = frozenset(f"{number:02x}" for number in range(256))


def _whole(kind: str) -> str:
    """The pack of a kind kept in one pack (ValueError for a kind in shards)."""
    if kind in SHARDS:
        raise ValueError(f"the {kind} cache is kept in shards")
    return kind


def _pack_name(kind: str, key: str) -> str:
    """The pack an entry is in: `kind`, or for a kind kept in shards `kind/xx`, xx the key's last two hex digits."""
    if kind not in SHARDS:
        return kind
    shard = key[-2:].lower()
    return f"{kind}/{shard if shard in _SHARD_NAMES else 'xx'}"


def _committed(root: Path) -> str | None:
    """Why the cache of the repo at `root` may have come from a commit, or None when it cannot have.

    Outside a Git work tree (no `.git` in the repo's folder or above it, no GIT_DIR) nothing can be
    committed, and no process is started: Git is asked only where it could answer yes.
    """
    resolved = root.resolve()
    if "GIT_DIR" not in os.environ and not any((folder / ".git").exists() for folder in (resolved, *resolved.parents)):
        return None
    import subprocess  # here, not at the top: a run outside Git never starts a process (start-up)

    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", DIRECTORY.as_posix()], cwd=root,
                                capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        listed = None
    if listed is not None and listed.returncode == 0:
        tracked = [name for name in listed.stdout.decode("utf-8", "replace").split("\0") if name]
        return f"Git tracks {tracked[0]}" if tracked else None
    return "the repo is in a Git work tree, and Git cannot tell whether the cache is committed"


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
