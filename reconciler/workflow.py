"""The plan workflow: the edge where files, the provider and the clock meet the pure planner.

load repo -> validate -> read current state -> decide today -> plan -> plan document.
Everything with side effects (reading files, asking the provider, the clock) happens
here or in providers; the planner itself only computes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler import __version__
from reconciler.cache import Cache
from reconciler.calendar import portal_day, today_in
from reconciler.diagnostics import Diagnostic, Position, ReconcilerError, error, has_errors, sorted_diagnostics
from reconciler.fingerprint import desired_paths, fingerprint_inputs, fingerprint_state
from reconciler.plan.model import Plan, summarize
from reconciler.current import PortalState, Reading
from reconciler.loader import Inputs, load, load_settings
from reconciler.repo import CustomerSource
from reconciler.snapshot import Snapshot
from reconciler.unchanged import Ahead

TODAY_ENV = "RECONCILER_TODAY"


@dataclass(frozen=True)
class PlanRequest:
    paths: list[str]
    state: str | None = None
    today: str | None = None
    changed_since: str | None = None  # a Git ref: plan only the customers whose files changed since it
    settings_root: str | None = None  # customer files: the repo directory whose reconciler.yaml applies (default .)
    drift: bool = False  # report what changed in the portal since the last apply (asks the backend)
    workers: int = 1  # processes the run may use: above 1, a big snapshot file is read by a child (current.Reading)
    ahead: Ahead | None = None  # the repo's stat answers a forked copy reads ahead (the caller started it)


@dataclass(frozen=True)
class PlanResult:
    document: dict
    has_errors: bool
    state: Snapshot | Callable[[], Snapshot]  # the state the plan was made from, or how to bind it (`current`)
    desired_files: list[str] | None = None  # a partial plan's files (None: the whole repo)

    @property
    def current(self) -> Snapshot:
        """The state the plan was made from (recorded in a saved plan): bound when first asked for."""
        return self.state() if callable(self.state) else self.state

    @property
    def has_changes(self) -> bool:
        return bool(self.document["steps"])


def parse_date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReconcilerError(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None


def decide_today(explicit: str | None, timezone: str, now: dt.datetime | None = None) -> dt.date:
    """--today, else $RECONCILER_TODAY, else the current date in the repo's timezone."""
    if explicit:
        return parse_date(explicit, "--today")
    if os.environ.get(TODAY_ENV):
        return parse_date(os.environ[TODAY_ENV], TODAY_ENV)
    return today_in(timezone, now or dt.datetime.now(dt.timezone.utc))


def load_desired(paths: list[str], settings_root: str | None = None, cache: Cache | None = None,
                 settings: Inputs | None = None) -> tuple[Inputs, bool, list[Diagnostic]]:
    """The inputs to plan: one directory (the whole repo) or customer files (only those: a partial plan).

    Returns the inputs, whether they are complete (only a complete repo may call a customer
    absent), and the diagnostics of loading. `cache`: the run's cache of the repo (else a repo
    directory's own, reconciler.cache: a warm re-plan parses only what changed).
    """
    inputs = load(paths, settings_root=settings_root or ".", cache=cache or True)
    return inputs, inputs.complete, list(inputs.diagnostics)


def read_current(inputs: Inputs, state: str | None, today: dt.date | None = None) -> Snapshot:
    from reconciler.providers.select import provider_for

    return provider_for(inputs.config, inputs.root, state).read(today)


class PlanFailed(ReconcilerError):
    """Nothing was planned: the error, its diagnostics, and the plan document that says so (no steps)."""

    def __init__(self, cause: ReconcilerError, document: dict):
        super().__init__(str(cause), cause.diagnostics)
        self.document = document


def make_plan(request: PlanRequest, provider=None) -> PlanResult:
    """Plan the request; `provider` (already chosen, e.g. by apply under its lock) overrides the repo's.

    Any failure is a `PlanFailed`, which carries the plan document of the failure (FORMAT.md
    section 6: `plan --format json` always prints one document).
    """
    known: dict = {}
    try:
        return _make_plan(request, provider, known)
    except ReconcilerError as exc:
        raise PlanFailed(exc, failure_document(exc, request, **known)) from None


def failure_document(exc: ReconcilerError, request: PlanRequest, timezone: str = "UTC",
                     today: dt.date | None = None) -> dict:
    """The plan document of a run that planned nothing: no steps, the diagnostics that say why, the summary.

    An error without diagnostics of its own (a missing state file, a bad --today) is the one diagnostic.
    """
    if today is None:
        try:
            today = decide_today(request.today, timezone)
        except ReconcilerError:
            today = today_in(timezone, dt.datetime.now(dt.timezone.utc))
    diagnostics = exc.diagnostics or [error(None, "schema", str(exc))]
    document = Plan(tool_version=__version__, today=today, timezone=timezone, diagnostics=diagnostics,
                    summary=summarize([], diagnostics))
    return document.model_dump(mode="json")


def _valid_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def _make_plan(request: PlanRequest, provider, known: dict) -> PlanResult:
    """make_plan's work; `known` collects the timezone and the date as soon as they are known."""
    cache = _cache_of(request.paths)
    cache.ahead = request.ahead
    settings = None if provider is not None or request.state else settings_for(request)
    with Reading(_snapshot_file(request, provider, settings), cache, request.workers,
                 partial=bool(request.changed_since)) as reading:
        from reconciler.plan.planner import plan  # imported while a child, if any, reads the snapshot

        if request.changed_since:
            from reconciler.scope import load_changed

            repo, scope = load_changed(_one_directory(request.paths), request.changed_since, cache)
            complete, diagnostics = scope.complete, list(repo.diagnostics)
        else:
            (repo, complete, diagnostics), scope = load_desired(request.paths, request.settings_root, cache,
                                                                settings), None
        known["timezone"] = _valid_timezone(repo.config.timezone)
        _stop_on_errors(diagnostics)
        today = known["today"] = decide_today(request.today, repo.config.timezone)
        if provider is None:
            from reconciler.providers.select import provider_for

            provider = provider_for(repo.config, repo.root, request.state)
        state = reading.state(provider, today)  # a snapshot file the cache holds is not read again
    cache.save()
    notes: list[Diagnostic] = list(scope.notes) if scope is not None else []
    if scope is not None:
        repo, problems, reached = scope.reach(repo, state, cache)
        _stop_on_errors(problems)
        notes += reached
    if complete and scope is None and _warm(request, provider, repo):
        from reconciler.warm import plan_warm

        warm = plan_warm(repo.customers, repo.hashes, state, cache, today, repo.config.policy,
                         repo.catalog, lambda current: _catalog(repo, current), repo.config.timezone,
                         repo.price_book, portal_day(today, repo.config.timezone, repo.config.portal_timezone),
                         locator(repo.customers), {"desired": fingerprint_inputs(repo),
                                                   "current": state.fingerprint()}, request.workers)
        if warm is not None:
            return PlanResult(warm.model_dump(mode="json"), warm.has_errors, state.whole)
    if complete:
        current = state.whole()
    else:  # a partial plan reads, and records, only the customers it needs (plan.saved): only they are bound
        models = [s.model for s in repo.customers]
        current = state.subset(_reached_by(models, state))
    portal_today = portal_day(today, repo.config.timezone, repo.config.portal_timezone)
    drift = None
    if request.drift:
        from reconciler.backends.drift import drift_for

        drift = drift_for(repo.config, getattr(provider, "target", None), current,
                          [s.model.customer for s in repo.customers])
    fingerprints = {"desired": fingerprint_inputs(repo),
                    "current": state.fingerprint() if complete else fingerprint_state(current)}
    result = plan([s.model for s in repo.customers], current, today, repo.config.policy,
                  catalog=_catalog(repo, current), timezone=repo.config.timezone, complete=complete,
                  price_book=repo.price_book, portal_today=portal_today,
                  notes=notes, fingerprints=fingerprints,
                  locate=locator(repo.customers), drift=drift)
    partial = None if complete else desired_paths(repo)
    return PlanResult(result.model_dump(mode="json"), result.has_errors, current, partial)


def settings_for(request: PlanRequest) -> Inputs | None:
    """The settings `load` reads for the request (its repo's reconciler.yaml), read once here to pick the provider.

    None where `load` reads none (a path that does not exist, a directory among files) or
    `--changed-since` reads its own (scope.load_changed).
    """
    targets = [Path(p) for p in request.paths or ["."]]
    if request.changed_since or not all(t.exists() for t in targets):
        return None
    if len(targets) == 1 and targets[0].is_dir():
        return load_settings(targets[0])
    return None if any(t.is_dir() for t in targets) else load_settings(Path(request.settings_root or "."))


def _snapshot_file(request: PlanRequest, provider, settings: Inputs | None):
    """The snapshot provider the run will read, when it is known before loading (else None: no child)."""
    from reconciler.providers.select import provider_for  # the providers: imported by the plan that picks one
    from reconciler.providers.snapshot import SnapshotProvider

    if provider is not None:
        return provider
    if request.state:
        return SnapshotProvider(Path(request.state))
    if request.changed_since:
        settings = load_settings(_one_directory(request.paths))  # --changed-since reads its own as well
    config = settings.config if settings is not None and not has_errors(settings.diagnostics) else None
    if config is None or config.provider.kind != "snapshot" or not config.provider.path:
        return None
    try:
        return provider_for(config, settings.root)
    except ReconcilerError:  # said where the plan picks its provider, after the desired state's own errors
        return None


def _cache_of(paths: list[str]) -> Cache:
    """The run's cache: the repo directory's, when the paths are one (customer files alone keep none)."""
    targets = paths or ["."]
    return Cache(Path(targets[0])) if len(targets) == 1 and Path(targets[0]).is_dir() else Cache(None)


def _reached_by(files: list, state: PortalState) -> set[str]:
    """The portal customers a plan of `files` reads: theirs, and the holders of their PBX names and pinned serials.

    `plan.saved.customers_read` says the same of a bound snapshot (apply's recorded state); this
    reads the state's index, so a partial plan binds only these customers."""
    reached = {file.customer for file in files}
    for file in files:
        for name, pbx in file.pbxes.items():
            reached.update(state.pbxes.get(name, ()))
            reached.update(state.serials[serial] for serial in pbx.pinned if serial in state.serials)
    return reached


def _stop_on_errors(diagnostics: list[Diagnostic]) -> None:
    if has_errors(diagnostics):
        raise ReconcilerError("the desired state is not valid; nothing was planned", sorted_diagnostics(diagnostics))


def _one_directory(paths: list[str]) -> Path:
    if len(paths) > 1 or (paths and not Path(paths[0]).is_dir()):
        raise ReconcilerError("--changed-since plans one repo directory (default: .), not files")
    return Path(paths[0] if paths else ".")


def _catalog(repo: Inputs, current: Snapshot) -> set[str] | None:
    """The product catalog: the price book's when one is configured, else the provider's (FORMAT.md section 5)."""
    if repo.price_book is not None:
        return repo.catalog
    return {product for products in (current.catalog or {}).values() for product in products} or None


def _warm(request: PlanRequest, provider, repo: Inputs) -> bool:
    """Whether the plan may take unchanged customers' parts from the cache (reconciler.warm): a plan whose drift,
    if asked for, is none without reading the state (a read-only provider, the local backend: drift_for)."""
    return not request.drift or (getattr(provider, "target", None) is None and repo.config.backend.kind == "local")


def locator(sources: list[CustomerSource]):
    """The planner's `locate`: where the desired files write a customer, or one of its PBXs (the loader's positions)."""
    files = {s.customer: s for s in sources}

    def locate(customer: str, pbx: str | None) -> Position | None:
        source = files.get(customer)
        if source is None:
            return None
        return source.positions.key(("pbxes", pbx) if pbx and pbx in source.pbxes else ("customer",))

    return locate
