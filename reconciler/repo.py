"""The files of a GitOps repo, one at a time: which are customer files, the configuration, one customer file.

In a directory, customer files are `customers/**/*.yaml` when `customers/` exists, else
the YAML files at its top (less `reconciler.yaml` and the snapshot it names). Customer ids
are unique within a repo. Putting the files together into the inputs of a run is `loader`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from reconciler.binding import bind
from reconciler.cache import Cache, compact
from reconciler.config import CONFIG_FILE, Config, ProviderConfig
from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, ReconcilerError, error, quoted
from reconciler.paths import check_setting
from reconciler.rules.validation import check_customer, check_parts
from reconciler.source import CachedSource, Claims, CustomerSource, pins_of
from reconciler.unchanged import CLAIMS_FORM, JUDGED, Kept, known_files, parsed_claims, remember, signature, walked
from reconciler.walk import CUSTOMERS_DIR, YAML_SUFFIXES, customers_below, linked_inside
from reconciler.yamlio import Document, Positions, is_blank, parse, parse_checked, read_checked, read_file
from reconciler.yamltext import content_hash, decode, read_bytes


def _display(path: str | Path) -> str:
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


def discover(directory: Path, config: Config, outside: list[Path] | None = None,
             links: set[str] | None = None, cache: Cache | None = None) -> list[str]:
    """The customer files of the repo at `directory`, each `str(directory / its names)`, in the order their
    `Path`s sort in; those that are links leading out of it go to `outside`, those that are links (inside it) to
    `links`. With the run's `cache`, a walk of its customers/ folder that a forked copy made ahead is taken
    (`unchanged.walked`).

    Strings, not `Path`s: a big repo's run compares and hashes its files' paths by the thousand.
    """
    outside = [] if outside is None else outside
    links = set() if links is None else links
    found = walked(cache, directory, outside, links)
    if found is None:
        found = customers_below(directory, outside, links)
    if found is not None:
        return found
    found = []
    for path in directory.iterdir():
        if is_customer_path(PurePosixPath(path.name), config, in_customers_dir=False) and path.is_file():
            if path.is_symlink():
                if not linked_inside(path, directory, outside):
                    continue
                links.add(str(path))
            found.append(path)
    return [str(path) for path in sorted(found, key=_in_order)]


def below(root: Path) -> int:
    """How many leading characters of a path `discover` found under `root` name the root (with its slash): the
    rest is the path's names below the root, POSIX."""
    shown = str(root)
    return 0 if shown == "." else len(shown) if shown.endswith("/") else len(shown) + 1


def _in_order(path: Path) -> tuple[str, ...]:
    """A path's sort key: its parts, the order of Path's own comparison (on POSIX) at a fraction of its cost."""
    return path.parts


def load_config(path: Path) -> tuple[Config, list[Diagnostic]]:
    config, _, diagnostics = read_config(path)
    return config, diagnostics


def read_config(path: Path) -> tuple[Config, str | None, list[Diagnostic]]:
    """(the repo configuration, its content hash, its problems). Every setting is optional: comments mean defaults.

    With errors, the result keeps what can be salvaged (the provider section), so that
    discovery still knows which file is the snapshot; the errors stop any plan anyway.
    """
    display = _display(path)
    text, digest, diagnostics = read_file(path, display)
    if text is None:
        return Config(), digest, diagnostics
    if is_blank(text):
        return Config(), digest, []
    config, diagnostics = parse_checked(text, display, partial(_check_config, root=path.parent))
    return config if config is not None else Config(), digest, diagnostics


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


def load_customer(path: str | Path, catalog: set[str] | None = None) -> tuple[CustomerSource | None, list[Diagnostic]]:
    source, _, diagnostics = read_customer(path, _display(path), catalog)
    return source, diagnostics


def read_customer(path: str | Path, display: str, catalog: set[str] | None = None, cache: Cache | None = None
                  ) -> tuple[CustomerSource | None, str | None, list[Diagnostic]]:
    """(the customer or None, the content hash of the bytes read, the file's problems), checked against `catalog`.

    With a `cache` (reconciler.cache), a file whose content loaded clean before is rebuilt from
    what it made then (its model and its positions) instead of being parsed and bound again, and its
    stat is kept: a later run asks `cached_customers` first, which does not even read the files whose
    stat is the one they had then (reconciler.unchanged).
    """

    def check(document: Document) -> tuple[CustomerSource | None, list[Diagnostic]]:
        customer, problems = bind(document, CustomerFile)
        if customer is None:  # the parts that are valid are judged all the same: one run tells everything
            return None, problems + check_parts(document.data, document.positions, catalog)
        return CustomerSource(display, customer, document.positions), check_customer(customer, document.positions,
                                                                                      catalog)

    if cache is None:
        source, digest, problems = read_checked(path, display, check)
        return source, digest, problems
    seen = signature(path)
    raw, diagnostics = read_bytes(path, display)
    if raw is None:
        return None, None, diagnostics
    digest = content_hash(raw)
    claims = cache.get(CLAIMS, digest)
    hit = _cached_customer(parsed_claims(claims), display, catalog, partial(_entry, cache, digest),
                           partial(_reloaded, raw, display, cache, digest))
    if hit is not None:
        remember(cache, display, seen, digest, claims)
        return hit, digest, []
    text, diagnostics = decode(raw, display)
    if text is None:
        return None, digest, diagnostics
    source, problems = parse_checked(text, display, check)
    if source is not None and not problems:  # only what loaded clean is kept: a hit has nothing to say
        entry, claims = _cache_value(source, catalog)
        cache.put("customer", digest, entry)
        if claims is not None:
            cache.put(CLAIMS, digest, claims)
            remember(cache, display, seen, digest, claims)
    return source, digest, problems


def cached_customers(names: list[str], catalog: set[str] | None, cache: Cache) -> dict[str, tuple[CustomerSource, str]]:
    """The customers of the files whose stat is the one they had when they loaded clean (reconciler.unchanged),
    all at once and none of them read: name -> (the customer, the content hash of its bytes). The others are
    for `read_customer`, which gives the same customer and hash from the bytes."""
    found = {}
    for name, (digest, claims) in known_files(cache, names).items():
        hit = _cached_customer(claims, name, catalog, partial(_entry, cache, digest),
                               partial(_read_again, name, name, cache, digest))
        if hit is not None:
            found[name] = (hit, digest)
    return found


CLAIMS = "claims"  # the cache's kind of a clean file's claims: what a hit needs at once (the model is `customer`)


def _cache_value(source: CustomerSource, catalog: set[str] | None = None) -> tuple[str, str | None]:
    """The cached forms of a clean customer: (its model as pydantic writes JSON and its positions' plain form,
    apart by a tab; its claims: whether the rules that found it clean knew a catalog, its id, its PBX names and
    its pins, apart by spaces and commas, or None when a name is not one of the ids the models allow).

    Written for every file of a cold run: the model's JSON comes from pydantic's own serializer,
    the positions' flat arrays (`Positions.dump`) go to the encoder as they are. Compact JSON
    holds neither a tab nor a newline (a string escapes both), so a hit splits the parts apart
    without decoding either, and the pack keeps the value on its line as it is.
    """
    model = source.model
    claims = f"{JUDGED[bool(catalog)]} {model.customer} {','.join(model.pbxes)} {','.join(pins_of(model))}"
    entry = f"{model.model_dump_json(exclude_unset=True)}\t{compact(source.positions.dump())}"
    return entry, claims if CLAIMS_FORM.fullmatch(claims) else None


def _cached_customer(claims: Kept | None, display: str, catalog: set[str] | None,
                     entry: Callable[[], tuple[str, str] | None],
                     reload: Callable[[], tuple[CustomerFile, Positions]]) -> CustomerSource | None:
    """The cached customer of a file that loaded clean; None (load it) when it is unusable or a rule speaks now.

    The customer's claims (its id, PBX names and pins, `_cache_value`, parsed) are all a hit reads at once;
    its model and positions come from `entry()` when something asks for them, or from `reload()`, the
    file's own bytes parsed again, should the entry be missing or damaged (`CachedSource`).

    The validation rules are a function of the model, its positions and the catalog, and
    their source is in the cache's version tag: an entry kept clean without a catalog is clean
    again without one, and is not judged again. With a catalog (a price book, the sandbox's
    for validate) they run on every hit: the catalog may be another one now.
    """
    if claims is None:
        return None
    judged, kept = claims
    source = CachedSource(display, kept, entry, reload)
    if catalog or judged != JUDGED[0]:  # e.g. another catalog: judged again, on the model
        try:
            if check_customer(source.model, source.positions, catalog):
                return None
        except ValueError:
            return None
    return source


def _entry(cache: Cache, digest: str) -> tuple[str, str] | None:
    """The cached model JSON and positions JSON of the content with this digest, or None."""
    parts = (cache.get("customer", digest) or "").split("\t")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _reloaded(raw: bytes, display: str, cache: Cache, digest: str) -> tuple[CustomerFile, Positions]:
    """The model and positions a cold load of these bytes makes, for a cached entry that is missing or turned out
    damaged: kept in the cache again."""
    text, _ = decode(raw, display)
    document, _ = parse(text, display) if text is not None else (None, [])
    customer, _ = bind(document, CustomerFile) if document is not None else (None, [])
    if customer is None:
        raise ValueError(f"{display} is no longer a customer file")
    cache.put("customer", digest, _cache_value(CustomerSource(display, customer, document.positions))[0])
    return customer, document.positions


def _read_again(path: str | Path, display: str, cache: Cache, digest: str) -> tuple[CustomerFile, Positions]:
    """`_reloaded` for a file its stat said unchanged (not read): its bytes now, which must be those of `digest`."""
    raw, _ = read_bytes(path, display)
    if raw is None or content_hash(raw) != digest:
        raise ReconcilerError(f"{display} changed while reconciler read the repo: run it again")
    return _reloaded(raw, display, cache, digest)


def check_unique_ids(customers: Iterable[Claims]) -> list[Diagnostic]:
    """Customer ids are unique in a repo, and so are PBX names across customers: a PBX's name is its domain.

    In the order the files are given: each message names the first holder, its file and line.
    """
    customers = list(customers)
    first: dict[str, Claims] = {}
    found = []
    for source in customers:
        customer_id = source.customer
        if customer_id in first:
            other = first[customer_id]
            found.append(error(source.place(), "schema",
                               f"customer '{customer_id}' is already defined in {other.path}:{other.place().line}",
                               customer=customer_id))
        else:
            first[customer_id] = source
    owners: dict[str, Claims] = {}
    for source in customers:
        for name in source.pbxes:
            other = owners.setdefault(name, source)
            if other is not source and other.customer != source.customer:
                line = other.place(name).line
                found.append(error(source.place(name), "schema",
                                   f"PBX name '{name}' is already used by customer '{other.customer}' "
                                   f"({other.path}:{line}): a PBX name is its domain, {name}.wildixin.com, "
                                   "unique in the portal", customer=source.customer, pbx=name))
    return found
