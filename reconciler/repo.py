"""Find and load a GitOps repo: its configuration and its customer files (FORMAT.md sections 1-3).

A path on the command line is a repo root, a directory of customer files, or a file.
In a directory, customer files are `customers/**/*.yaml` when `customers/` exists, else
the YAML files at its top (less `reconciler.yaml` and the snapshot it names). Each
directory given is its own repo: customer ids must be unique within it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from reconciler.binding import bind
from pydantic import ValidationError

from reconciler.cache import Cache, content_key

from reconciler.config import CONFIG_FILE, Config, ProviderConfig
from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, Position, error, quoted
from reconciler.paths import check_setting, outside_allowed, outside_file, within
from reconciler.progress import progress
from reconciler.rules.validation import check_customer
from reconciler.yamlio import (PARALLEL_MIN_ITEMS, Document, Positions, is_blank, load_checked, map_parts,
                               parse_checked, paused_gc, read_text)

if TYPE_CHECKING:
    from reconciler.pricing.book import PriceBook

YAML_SUFFIXES = (".yaml", ".yml")
CUSTOMERS_DIR = "customers"


@dataclass(frozen=True)
class CustomerSource:
    """One loaded customer file: the model and where its keys stand."""

    path: str
    model: CustomerFile
    positions: Positions


@dataclass
class Repo:
    root: Path | None
    config: Config = field(default_factory=Config)
    config_path: str | None = None
    customers: list[CustomerSource] = field(default_factory=list)
    price_book: PriceBook | None = None  # the configuration's price_book, when it names one and it is valid
    files: int = 0  # files read, valid or not
    loaded: set[Path] = field(default_factory=set)  # their resolved paths

    @property
    def catalog(self) -> set[str] | None:
        """The price book's products, when one is configured: then it is the catalog (FORMAT.md section 5)."""
        return self.price_book.products() if self.price_book is not None else None


def _display(path: Path) -> str:
    return str(path)


def is_customer_path(relative: PurePosixPath, config: Config, in_customers_dir: bool) -> bool:
    """Whether a file at `relative` (to the repo root) is one `discover` reads as a customer file.

    With a `customers/` folder: the YAML files below it; else the YAML files at the top, less
    reconciler.yaml and the snapshot the configuration names. Hidden files and folders never.
    """
    parts = relative.parts
    if not parts or relative.suffix not in YAML_SUFFIXES or any(part.startswith(".") for part in parts):
        return False
    if in_customers_dir:
        return len(parts) > 1 and parts[0] == CUSTOMERS_DIR
    snapshot = Path(config.provider.path).name if config.provider.kind == "snapshot" and config.provider.path else None
    return len(parts) == 1 and relative.name not in (CONFIG_FILE, snapshot)


def _customer_files(folder: Path, root: Path, outside: list[Path]) -> Iterator[Path]:
    """The YAML files below `folder`, hidden files and folders left out (os.scandir: no stat per file).

    A symbolic link is followed only when it stays inside the repo at `root` (else it goes to
    `outside`), and a linked folder only when it is not one the walk is already in (no loop).
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if entry.is_symlink() and not _linked_inside(path, root, outside):
                continue
            if entry.is_dir():
                yield from _customer_files(path, root, outside)
            elif entry.name.endswith(YAML_SUFFIXES) and entry.is_file():
                yield path


def _linked_inside(path: Path, root: Path, outside: list[Path]) -> bool:
    """Whether to follow the symbolic link `path`: it stays inside `root` and is no loop; `outside` gets it if not."""
    target = Path(os.path.realpath(path))
    if not within(target, root) and not outside_allowed():
        if path.name.endswith(YAML_SUFFIXES) or target.is_dir():
            outside.append(path)
        return False
    return not (target.is_dir() and Path(os.path.realpath(path.parent)).is_relative_to(target))


def discover(directory: Path, config: Config, outside: list[Path] | None = None) -> list[Path]:
    """The customer files of the repo at `directory`; those that are links leading out of it go to `outside`."""
    outside = [] if outside is None else outside
    customers_dir = directory / CUSTOMERS_DIR
    if customers_dir.is_dir():
        if customers_dir.is_symlink() and not _linked_inside(customers_dir, directory, outside):
            return []
        return sorted(_customer_files(customers_dir, directory, outside))
    found = []
    for path in directory.iterdir():
        if is_customer_path(PurePosixPath(path.name), config, in_customers_dir=False) and path.is_file():
            if path.is_symlink() and not _linked_inside(path, directory, outside):
                continue
            found.append(path)
    return sorted(found)


def load_config(path: Path) -> tuple[Config, list[Diagnostic]]:
    """The repo configuration and its problems. Every setting is optional: a file of comments means defaults.

    With errors, the result keeps what can be salvaged (the provider section), so that
    discovery still knows which file is the snapshot; the errors stop any plan anyway.
    """
    display = _display(path)
    text, diagnostics = read_text(path, display)
    if text is None:
        return Config(), diagnostics
    if is_blank(text):
        return Config(), []
    config, diagnostics = parse_checked(text, display, partial(_check_config, root=path.parent))
    return config if config is not None else Config(), diagnostics


def _check_config(document: Document, root: Path) -> tuple[Config, list[Diagnostic]]:
    config, problems = bind(document, Config)
    if config is None:
        return _salvage(document.data), problems
    positions = document.positions
    outside = check_setting(root, "price_book", config.price_book, positions.value(("price_book",)))
    if outside:  # never read: the price book is left out
        config = config.model_copy(update={"price_book": None})
    outside += check_setting(root, "provider.path", config.provider.path, positions.value(("provider", "path")))
    return config, _check_timezone(config, positions) + outside


def _salvage(data) -> Config:
    provider = data.get("provider") if isinstance(data, dict) else None
    try:
        return Config(provider=ProviderConfig.model_validate(provider)) if isinstance(provider, dict) else Config()
    except ValidationError:
        return Config()


def _check_timezone(config: Config, positions: Positions) -> list[Diagnostic]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    found = []
    for path, name in ((("timezone",), config.timezone), (("portal", "timezone"), config.portal.timezone)):
        try:
            if name is not None:
                ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(error(positions.value(path), "schema",
                               f"unknown timezone {quoted(name)}: use an IANA name such as Europe/Rome or UTC"))
    return found


def load_settings(repo: Repo, root: Path) -> list[Diagnostic]:
    """Load `root`'s reconciler.yaml, when there is one, and the price book it names into `repo`; their problems."""
    config_file = root / CONFIG_FILE
    if not config_file.is_file():
        return []
    if config_file.is_symlink() and not within(config_file, root) and not outside_allowed():
        return [outside_file(config_file)]
    repo.config_path = _display(config_file)
    repo.config, problems = load_config(config_file)
    return problems + load_repo_price_book(repo, root)


def load_repo_price_book(repo: Repo, root: Path) -> list[Diagnostic]:
    """Load the price book the configuration names (relative to the repo root) into `repo`; its problems."""
    if not repo.config.price_book:
        return []
    from reconciler.pricing.book import load_price_book  # only with a price book: start-up does not pay for it

    path = root / repo.config.price_book
    repo.price_book, problems = load_price_book(path, _display(path))
    return problems


def load_customer(path: Path, catalog: set[str] | None = None) -> tuple[CustomerSource | None, list[Diagnostic]]:
    return _load_customer(path, catalog)[:2]


def _load_customer(path: Path, catalog: set[str] | None = None, cache: Cache | None = None
                   ) -> tuple[CustomerSource | None, list[Diagnostic], tuple[str, str] | None]:
    """The file loaded, and the cache entry (key, value) its content makes when `cache` had none for it."""
    display = _display(path)

    def check(document: Document) -> tuple[CustomerSource | None, list[Diagnostic]]:
        customer, problems = bind(document, CustomerFile)
        if customer is None:
            return None, problems
        return CustomerSource(display, customer, document.positions), check_customer(customer, document.positions,
                                                                                      catalog)

    if cache is None:
        return *load_checked(path, display, check), None
    text, diagnostics = read_text(path, display)
    if text is None:
        return None, diagnostics, None
    key = content_key(text)
    hit = _cached_customer(cache.get("customer", key), text, display, catalog)
    if hit is not None:
        return hit, [], None
    source, problems = parse_checked(text, display, check)
    clean = source is not None and not problems
    return source, problems, (key, source.model.model_dump_json()) if clean else None


def _cached_customer(value: str | None, text: str, display: str, catalog: set[str] | None) -> CustomerSource | None:
    """The cached model of a file that loaded clean; None (load it) when any rule has something to say now."""
    if value is None:
        return None
    try:
        customer = CustomerFile.model_validate_json(value)
    except ValidationError:
        return None
    positions = Positions.deferred(display, text)  # as the fast path leaves them: read again if a rule asks
    if check_customer(customer, positions, catalog):  # e.g. another catalog: the exact path words the message
        return None
    return CustomerSource(display, customer, positions)


def load_customers(paths: list[Path], catalog: set[str] | None = None, cache: Cache | None = None
                   ) -> list[tuple[Path, CustomerSource | None, list[Diagnostic], tuple[str, str] | None]]:
    """`load_customer` of each file, with the file's resolved path (and its new cache entry, with a cache)."""
    return [(path.resolve(), *_load_customer(path, catalog, cache)) for path in paths]


def load_repo(target: Path, catalog: set[str] | None = None,
              skip: frozenset[Path] = frozenset(), cache: bool = False) -> tuple[Repo, list[Diagnostic]]:
    """Load one repo: a directory (its config and customer files) or a single customer file.

    Files whose resolved path is in `skip` (already checked under another name) are left out.
    `cache`: keep what the customer files made under the directory's .reconciler/cache/ (reconciler.cache).
    """
    if target.is_file():
        if target.name == CONFIG_FILE:
            repo = Repo(root=target.parent, config_path=_display(target), files=1, loaded={target.resolve()})
            repo.config, diagnostics = load_config(target)
            diagnostics += load_repo_price_book(repo, target.parent)
            repo.files += bool(repo.config.price_book)
            return repo, diagnostics
        repo = Repo(root=None, files=1, loaded={target.resolve()})
        source, diagnostics = load_customer(target, catalog)
        if source:
            repo.customers.append(source)
        return repo, diagnostics

    repo = Repo(root=target)
    diagnostics: list[Diagnostic] = []
    problems = load_settings(repo, target)
    config_file = target / CONFIG_FILE
    if repo.config_path and config_file.resolve() not in skip:
        repo.files += 1 + bool(repo.config.price_book)
        repo.loaded.add(config_file.resolve())
        diagnostics += problems
    elif not repo.config_path:  # a reconciler.yaml left unread (a link out of the repo) says why
        diagnostics += problems
    if catalog is None:
        catalog = repo.catalog
    outside: list[Path] = []
    files = discover(target, repo.config, outside)
    diagnostics += [outside_file(path) for path in outside]
    if skip:
        files = [path for path in files if path.resolve() not in skip]
    if not files and not skip and not outside:
        where = f"{target}/{CUSTOMERS_DIR}" if (target / CUSTOMERS_DIR).is_dir() else str(target)
        diagnostics.append(error(Position(where), "schema",
                                 "no customer files found (expected *.yaml files, each with a 'customer:' key)"))
    kept = Cache(target) if cache else None
    with progress(len(files), "loading customer files") as advance, paused_gc(keep=len(files) >= PARALLEL_MIN_ITEMS):
        loaded = map_parts(partial(load_customers, catalog=catalog, cache=kept), files, advance=advance)
    for resolved, source, problems, entry in loaded:
        repo.files += 1
        repo.loaded.add(resolved)
        diagnostics += problems
        if source:
            repo.customers.append(source)
        if entry and kept is not None:  # put here, not in a forked worker: the parent saves the pack
            kept.put("customer", *entry)
    if kept is not None:
        kept.save()
    diagnostics += check_unique_ids(repo.customers)
    return repo, diagnostics


def check_unique_ids(customers: list[CustomerSource]) -> list[Diagnostic]:
    """Customer ids are unique in a repo, and so are PBX names across customers: a PBX's name is its domain."""
    first: dict[str, CustomerSource] = {}
    found = []
    for source in customers:
        customer_id = source.model.customer
        if customer_id in first:
            other = first[customer_id]
            line = other.positions.value(("customer",)).line
            found.append(error(source.positions.value(("customer",)), "schema",
                               f"customer '{customer_id}' is already defined in {other.path}:{line}",
                               customer=customer_id))
        else:
            first[customer_id] = source
    owners: dict[str, CustomerSource] = {}
    for source in customers:
        for name in source.model.pbxes:
            other = owners.setdefault(name, source)
            if other is not source and other.model.customer != source.model.customer:
                line = other.positions.key(("pbxes", name)).line
                found.append(error(source.positions.key(("pbxes", name)), "schema",
                                   f"PBX name '{name}' is already used by customer '{other.model.customer}' "
                                   f"({other.path}:{line}): a PBX name is its domain, {name}.wildixin.com, "
                                   "unique in the portal", customer=source.model.customer, pbx=name))
    return found
