"""The one loader: paths on the command line -> the frozen `Inputs` of a run (FORMAT.md sections 1-3).

A path is a repo root (its reconciler.yaml, the price book it names, its customer files) or
customer files (with the settings of `settings_root`, the repo they belong to). `only` says
which of a repo's customer files to read (a `--changed-since` scope, or files a run already
checked): the caller decides which paths, the loader reads them, each once, and nothing
changes what it loaded afterwards (`share`: a caller has some of a repo's files read by another
process, which loads them with `only`). Every customer file is checked against the same catalog
(the price book's products, when one is configured), whichever way it was named.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from reconciler.cache import Cache
from reconciler.config import CONFIG_FILE, Config
from reconciler.diagnostics import Diagnostic, Position, error
from reconciler.paths import below_prefix, outside_allowed, outside_file, relative_name, within
from reconciler.progress import progress
from reconciler.repo import (CUSTOMERS_DIR, CustomerSource, below, cached_customers, check_unique_ids, discover,
                             read_config, read_customer)
from reconciler.rules.validation import loader_catalog

if TYPE_CHECKING:
    from reconciler.pricing.book import PriceBook

Share = Callable[[list[str]], list[str]]  # a repo's customer files -> those this process reads (`load`)


@dataclass(frozen=True)
class Inputs:
    """What a run reads from the repo: settings, customers (path, model, positions), the files, their problems."""

    root: Path | None
    config: Config = field(default_factory=Config)
    config_path: str | None = None
    price_book: PriceBook | None = None  # the configuration's price_book, when it names one and it is valid
    customers: tuple[CustomerSource, ...] = ()
    read: tuple[str, ...] = ()  # every file read, valid or not, as named (settings first)
    hashes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # file -> "sha256:..." of its bytes
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # file -> its name in the repo
    resolved: frozenset[str] = frozenset()  # the files read, resolved (`loaded`: as paths)
    diagnostics: tuple[Diagnostic, ...] = ()
    complete: bool = False  # the whole repo: only then may a customer be called absent
    discovered: tuple[str, ...] = ()  # a repo directory's customer files (`repo.discover`), read or not (`only` chose)

    @cached_property
    def loaded(self) -> frozenset[Path]:
        """The files read, resolved: made when first asked for (a plan never asks; a `Path` a file costs)."""
        return frozenset(map(Path, self.resolved))

    @property
    def files(self) -> int:
        return len(self.read)

    @property
    def catalog(self) -> set[str] | None:
        """The price book's products, when one is configured: then it is the catalog (FORMAT.md section 5)."""
        return self.price_book.products() if self.price_book is not None else None


class _Reading:
    """The loader's working state while it reads; `inputs()` freezes it."""

    def __init__(self, root: Path | None, provider_catalog: bool = False, cache: Cache | None = None,
                 ids: bool = True, bar: bool = True):
        self.root, self.provider_catalog, self.cache = root, provider_catalog, cache
        self.ids, self.bar = ids, bar
        self.run: int | None = None  # the files of the whole run, when `share` leaves some to another process
        self.config, self.config_path, self.price_book = Config(), None, None
        self.customers: list[CustomerSource] = []
        self.read: list[str] = []
        self.hashes: dict[str, str] = {}
        self.names: dict[str, str] = {}  # relative to the resolved root (paths.relative_name), POSIX
        self.base = os.path.realpath(root if root is not None else ".")
        self.resolved: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.discovered: list[str] = []

    def note(self, display: str, resolved: str, digest: str | None, name: str | None = None) -> None:
        """A file read: shown as `display`, at `resolved`, its content hash; `name`: its name relative to the resolved
        root when the caller knows it (else found from `resolved`)."""
        self.read.append(display)
        self.resolved.add(resolved)
        self.names[display] = relative_name(resolved, self.base) if name is None else name
        if digest is not None:
            self.hashes[display] = digest

    def settings(self, root: Path, known: Inputs | None = None) -> None:
        """`root`'s reconciler.yaml, when there is one, and the price book it names (`known`: as read already)."""
        if known is not None:  # load_settings(root) of this run: taken as they are, not read again
            self.config, self.config_path, self.price_book = known.config, known.config_path, known.price_book
            self.read += known.read
            self.hashes.update(known.hashes)
            self.names.update(known.names)
            self.resolved.update(known.resolved)
            self.diagnostics += known.diagnostics
            return
        config_file = root / CONFIG_FILE
        if not config_file.is_file():
            return
        if config_file.is_symlink() and not within(config_file, root) and not outside_allowed():
            self.diagnostics.append(outside_file(config_file))
            return
        self.config_file(config_file)

    def config_file(self, path: Path) -> None:
        self.config_path = str(path)
        self.config, digest, problems = read_config(path)
        self.note(self.config_path, os.path.realpath(path), digest)
        self.diagnostics += problems
        if self.config.price_book:
            from reconciler.pricing.book import load_price_book  # only with a price book: start-up does not pay for it

            book = path.parent / self.config.price_book
            self.price_book, problems = load_price_book(book, str(book))
            self.note(str(book), os.path.realpath(book), None)
            self.diagnostics += problems

    def customer_files(self, paths: Sequence[str | Path], where: Callable[[str], tuple[str, str | None]]) -> None:
        """Read the customer files `paths`; `where(path)`: (its resolved path, its name relative to the resolved root
        or None, for `note`)."""
        catalog = self.price_book.products() if self.price_book is not None else None
        if self.provider_catalog:  # validate: also the catalog the provider is known to have without asking it
            catalog = loader_catalog(catalog, self.config.provider.kind)
        hits = cached_customers(list(map(str, paths)), catalog, self.cache) if self.cache is not None else {}
        with progress(len(paths), "loading customer files", self.run if self.bar else 0) as advance:
            for path in paths:
                shown = str(path)
                hit = hits.get(shown)
                source, digest, problems = ((*hit, []) if hit is not None
                                            else read_customer(path, shown, catalog, self.cache))
                resolved, name = where(shown)
                self.note(shown, resolved, digest, name)
                self.diagnostics += problems
                if source:
                    self.customers.append(source)
                advance()

    def inputs(self, complete: bool) -> Inputs:
        if self.ids:
            self.diagnostics += check_unique_ids(self.customers)
        if self.cache is not None:
            self.cache.save()
        return Inputs(self.root, self.config, self.config_path, self.price_book, tuple(self.customers),
                      tuple(self.read), MappingProxyType(self.hashes), MappingProxyType(self.names),
                      frozenset(self.resolved), tuple(self.diagnostics), complete, tuple(self.discovered))


def load(paths: Sequence[str | Path] | None = None, only: Callable[[str], bool] | None = None,
         settings_root: str | Path | None = ".", provider_catalog: bool = False,
         cache: bool | Cache | None = False, settings: Inputs | None = None, share: Share | None = None,
         ids: bool = True, bar: bool = True) -> Inputs:
    """Load one repo directory (`only`: which of its customer files, as `repo.discover` names them; all by default)
    or customer files.

    Customer files are read with the settings of `settings_root` (None: none; a single
    reconciler.yaml given is then read as the settings of its own directory). `provider_catalog`: with no
    price book, check products against the catalog the provider is known to have without asking it (validate).
    `cache`: a repo directory's customer files are kept under its .reconciler/cache/ (reconciler.cache), so a
    re-plan parses only the files that changed (a `Cache` given: that one, a run's cache of the repo).
    `settings`: `load_settings` of the same root, read already by the caller (not read again).
    `share`: a repo directory's customer files (those `only` chose, in order) -> those this process reads (the
    caller has the others read elsewhere: validate's forked child). `ids`: customer ids and PBX names are checked
    unique across the files read (False: the caller checks them across more files). `bar`: a progress bar on a
    terminal (a forked reader draws none).
    """
    targets = [Path(p) for p in paths or ["."]]
    missing = [error(Position(str(t)), "schema", "no such file or directory") for t in targets if not t.exists()]
    if missing:
        return Inputs(root=None, diagnostics=tuple(missing))
    if len(targets) == 1 and targets[0].is_dir():
        return _load_repo(targets[0], only, provider_catalog, cache, settings, share, ids, bar)
    if any(t.is_dir() for t in targets):
        return Inputs(root=None, diagnostics=(error(None, "schema", "plan takes one repo directory, or customer files"),))
    if settings_root is None and len(targets) == 1 and targets[0].name == CONFIG_FILE:
        reading = _Reading(targets[0].parent, provider_catalog, ids=ids, bar=bar)
        reading.config_file(targets[0])
        return reading.inputs(complete=False)
    reading = _Reading(Path(settings_root) if settings_root is not None else None, provider_catalog, ids=ids, bar=bar)
    if reading.root is not None:
        reading.settings(reading.root, settings)
    reading.customer_files(targets, lambda path: (os.path.realpath(path), None))
    return reading.inputs(complete=False)


def load_settings(root: Path) -> Inputs:
    """The settings of the repo at `root` alone (its reconciler.yaml, the price book it names), no customer file."""
    reading = _Reading(root)
    reading.settings(root)
    return reading.inputs(complete=False)


def _load_repo(root: Path, only: Callable[[str], bool] | None, provider_catalog: bool = False,
               cache: bool | Cache | None = False, settings: Inputs | None = None, share: Share | None = None,
               ids: bool = True, bar: bool = True) -> Inputs:
    reading = _Reading(root, provider_catalog, cache if isinstance(cache, Cache) else Cache(root) if cache else None,
                       ids, bar)
    reading.settings(root, settings)
    outside: list[Path] = []
    links: set[str] = set()
    found = reading.discovered = discover(root, reading.config, outside, links, reading.cache)
    reading.diagnostics += [outside_file(path) for path in outside]
    if not found and not outside:
        where = f"{root}/{CUSTOMERS_DIR}" if (root / CUSTOMERS_DIR).is_dir() else str(root)
        reading.diagnostics.append(error(Position(where), "schema",
                                         "no customer files found (expected *.yaml files, each with a 'customer:' key)"))
    selected = found if only is None else [path for path in found if only(path)]
    if share is not None:
        reading.run, selected = len(selected), share(selected)
    prefix, below_root = below_prefix(os.path.realpath(root)), below(root)

    def where(path: str) -> tuple[str, str | None]:  # one resolve for the root, not one per file: string work
        if links and path in links:  # discovery follows only links that stay inside the repo
            return os.path.realpath(path), None
        name = path[below_root:]  # below the root, as found: its name below the resolved root too
        return prefix + name, name

    reading.customer_files(selected, where)
    return reading.inputs(complete=only is None)
