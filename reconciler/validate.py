"""`reconciler validate`: load and check desired state, with no provider (FORMAT.md section 5).

load -> checks -> diagnostics: each directory given is a repo of its own (its settings, its
customers); loose files are checked together, without settings. A file named twice, or
reached both as a file and inside a directory, is checked once.

With `workers` above 1 (the command line gives the cores it may use), a repo of many customer
files is split by size: a forked child (`reconciler.forked`) loads the first part with the one
loader while this process loads the rest, and sends back only what validate reports of them
(their diagnostics, how many files it read, each customer's id and PBX names and where they
stand). Ids are then checked unique across both parts in the files' order, so every message
names the same first holder as in one process; a child that gives nothing: its part is loaded
here. The output is the same, byte for byte, whichever way it was made.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Position, error, sorted_diagnostics
from reconciler.forked import Child, file_size
from reconciler.loader import Inputs, load
from reconciler.repo import Claims, CustomerSource, check_unique_ids

# Customer files: fewer are checked in one process. The fork, the child's own discovery and the
# places it sends cost about 10 ms of processor time; the two parts' longer one beats one process
# from about 30 files on (64 files: 30 ms against 42 ms), and 64 keeps a busy machine's loss small.
SPLIT_FROM = 64
# Of the customer files' bytes, the first part's: the child's. It also finds the repo's files again
# and sends back what it found: at 10,000 files, with half the bytes each, it took about 10% more
# processor time than this process's part; with 47% the two parts end closer together.
CHILD_SHARE = 0.47


@dataclass(frozen=True)
class ValidationResult:
    files: int
    customers: int
    diagnostics: list[Diagnostic]


def validate_paths(paths: list[str], workers: int = 1) -> ValidationResult:
    """Check every path: each directory is a repo of its own; loose files are checked together.

    `workers`: above 1, a repo's customer files are shared with a forked child (the module's docstring).
    """
    diagnostics: list[Diagnostic] = []
    files = 0
    loose: list[CustomerSource] = []
    customers = 0
    seen: set[Path] = set()  # resolved files already checked: overlapping paths check each file once
    paths = paths or ["."]
    for number, raw in enumerate(paths, start=1):
        target = Path(raw)
        if not target.exists():
            diagnostics.append(error(Position(raw), "schema", "no such file or directory"))
            continue
        if target.is_file() and target.resolve() in seen:
            continue
        only = (lambda path: Path(path).resolve() not in seen) if seen else None
        if target.is_dir():
            inputs, part = _load_repo(target, only, workers)
        else:
            inputs, part = load([target], only=only, settings_root=None, provider_catalog=True), _Part()
        read, problems = _unseen(inputs, seen)
        seen.update(inputs.loaded)
        if number < len(paths):  # only a later path asks what was checked
            seen.update(map(Path, part.loaded))
        diagnostics += [*problems, *part.diagnostics]
        files += read + part.files
        customers += len(inputs.customers) + len(part.claims)
        if target.is_file():
            loose += inputs.customers
        else:  # in the files' order: the child's part comes first
            diagnostics += check_unique_ids([*part.claims, *inputs.customers])
    diagnostics += check_unique_ids(loose)
    return ValidationResult(files, customers, sorted_diagnostics(diagnostics))


def _unseen(inputs: Inputs, seen: set[Path]) -> tuple[int, list[Diagnostic]]:
    """(files read, problems) less the repo settings an earlier path already checked."""
    if inputs.config_path is None or Path(inputs.config_path).resolve() not in seen:
        return inputs.files, list(inputs.diagnostics)
    settings = set(inputs.read[:1 + bool(inputs.config.price_book)])
    return inputs.files - len(settings), [d for d in inputs.diagnostics if d.file not in settings]


def _load_repo(target: Path, only: Callable[[str], bool] | None, workers: int) -> tuple[Inputs, _Part]:
    """The repo at `target` loaded, ids unchecked: this process's part, and the part a child loaded (if any)."""
    theirs: list[str] = []
    child: Child | None = None

    def share(found: list[str]) -> list[str]:  # the loader has found the files: the child starts on its part
        nonlocal theirs, child
        if workers < 2 or len(found) < SPLIT_FROM:
            return found
        theirs, ours = split(found)
        child = Child(partial(_check_part, target, theirs))
        return ours

    try:
        inputs = load([target], only=only, settings_root=None, provider_catalog=True, share=share, ids=False)
        sent = child.result() if child is not None else None
    finally:
        if child is not None:
            child.stop()
    if not theirs:
        return inputs, _Part()
    return inputs, _Part.decode(sent if sent is not None else _check_part(target, theirs))


def split(files: list[str]) -> tuple[list[str], list[str]]:
    """(the first files, holding about CHILD_SHARE of the bytes; the rest), each part at least one file."""
    sizes = [file_size(path) for path in files]
    goal, total, cut = sum(sizes) * CHILD_SHARE, 0, 1
    for cut, size in enumerate(sizes[:-1], start=1):
        total += size
        if total >= goal:
            break
    return files[:cut], files[cut:]


def _check_part(target: Path, files: list[str]) -> bytes:
    """What validate reports of `files`, of the repo at `target`, as plain data: the child's work (or the fallback).

    The one loader loads them (the repo's settings too, whose problems the other part reports).
    """
    names = set(files)
    inputs = load([target], only=names.__contains__, settings_root=None, provider_catalog=True, ids=False, bar=False)
    diagnostics = [d.row() for d in inputs.diagnostics if d.file in names]
    claims = [(source.path, source.customer, tuple(source.pbxes), _places(source)) for source in inputs.customers]
    read = sum(1 for name in inputs.read if name in names)
    return marshal.dumps((read, [str(path) for path in inputs.loaded], diagnostics, claims))


def _places(source: CustomerSource) -> tuple:
    """(line, column) of the customer's id, then of each of its PBX names, flat."""
    found: list = []
    for place in (source.place(), *map(source.place, source.pbxes)):
        found += (place.line, place.column)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A customer of the child's part, as the uniqueness checks read it (`repo.Claims`)."""

    path: str
    customer: str
    pbxes: tuple[str, ...]
    places: tuple  # `_places`

    def place(self, pbx: str | None = None) -> Position:
        at = 0 if pbx is None else 2 + 2 * self.pbxes.index(pbx)
        return Position(self.path, self.places[at], self.places[at + 1])


@dataclass(frozen=True)
class _Part:
    """The part of a repo a child loaded: files read, the files it resolved, diagnostics, customers."""

    files: int = 0
    loaded: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    claims: tuple[Claims, ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> _Part:
        read, loaded, diagnostics, claims = marshal.loads(data)
        return cls(read, tuple(loaded),
                   tuple(map(Diagnostic.from_row, diagnostics)),
                   tuple(_Sent(*claim) for claim in claims))
