"""The plan workflow: the edge where files, the provider and the clock meet the pure planner.

load repo -> validate -> read current state -> decide today -> plan -> plan document.
Everything with side effects (reading files, asking the provider, the clock) happens
here or in providers; the planner itself only computes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.calendar import portal_day, today_in
from reconciler.diagnostics import Diagnostic, Position, ReconcilerError, error, has_errors, sorted_diagnostics
from reconciler.repo import CustomerSource, Repo, check_unique_ids, load_customer, load_repo, load_settings
from reconciler.snapshot import Snapshot

TODAY_ENV = "RECONCILER_TODAY"


@dataclass(frozen=True)
class PlanRequest:
    paths: list[str]
    state: str | None = None
    today: str | None = None
    changed_since: str | None = None  # a Git ref: plan only the customers whose files changed since it
    settings_root: str | None = None  # customer files: the repo directory whose reconciler.yaml applies (default .)
    drift: bool = False  # report what changed in the portal since the last apply (asks the backend)


@dataclass(frozen=True)
class PlanResult:
    document: dict
    has_errors: bool
    current: Snapshot  # the state the plan was made from (recorded in a saved plan)
    desired_files: list[str] | None = None  # a partial plan's files (None: the whole repo)

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


def load_desired(paths: list[str], settings_root: str | None = None) -> tuple[Repo, bool, list[Diagnostic]]:
    """The repo to plan: one directory (the whole repo) or customer files (only those: a partial plan).

    Returns the repo, whether it is complete (only a complete repo may call a customer
    absent), and the diagnostics of loading.
    """
    targets = [Path(p) for p in paths or ["."]]
    missing = [error(Position(str(t)), "schema", "no such file or directory") for t in targets if not t.exists()]
    if missing:
        return Repo(root=None), False, missing
    if len(targets) == 1 and targets[0].is_dir():
        repo, diagnostics = load_repo(targets[0], cache=True)  # a warm re-plan reads only what changed
        return repo, True, diagnostics
    if any(t.is_dir() for t in targets):
        return Repo(root=None), False, [error(None, "schema", "plan takes one repo directory, or customer files")]
    repo = Repo(root=Path(settings_root or "."))
    diagnostics = load_settings(repo, repo.root)
    for target in targets:
        source, problems = load_customer(target)
        diagnostics += problems
        if source:
            repo.customers.append(source)
    diagnostics += check_unique_ids(repo.customers)
    return repo, False, diagnostics


def read_current(repo: Repo, state: str | None, today: dt.date | None = None) -> Snapshot:
    from reconciler.providers.select import provider_for

    return provider_for(repo.config, repo.root, state).read(today)


def desired_paths(sources: list[CustomerSource], config_path: str | None, root: Path | None = None) -> list[str]:
    """The desired-state files, each relative to the repo root: how a path was spelled does not matter."""
    return sorted(repo_relative(p, root) for p in [s.path for s in sources] + ([config_path] if config_path else []))


def repo_relative(path: str, root: Path | None) -> str:
    """`path` (as given on the command line) relative to the repo root, as a POSIX path; absolute if outside it."""
    resolved, base = Path(path).resolve(), Path(root or ".").resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def fingerprint_files(sources: list[CustomerSource], config_path: str | None, root: Path | None = None) -> str:
    return fingerprint_paths(desired_paths(sources, config_path, root), root)


def fingerprint_paths(paths: list[str], root: Path | None = None) -> str:
    """One digest of these files' names (relative to `root`) and contents; a file that is gone counts as changed."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            content = (Path(root or ".") / path).read_bytes()
        except FileNotFoundError:
            content = b"\0missing"
        digest.update(path.encode() + b"\0" + content + b"\0")
    return "sha256:" + digest.hexdigest()


def fingerprint_state(snapshot: Snapshot) -> str:
    canonical = json.dumps(snapshot.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


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
    from reconciler import __version__
    from reconciler.plan.model import Plan, PlanDiagnostic, summarize

    if today is None:
        try:
            today = decide_today(request.today, timezone)
        except ReconcilerError:
            today = today_in(timezone, dt.datetime.now(dt.timezone.utc))
    found = exc.diagnostics or [error(None, "schema", str(exc))]
    diagnostics = [PlanDiagnostic(**d.to_dict()) for d in found]
    plan = Plan(tool_version=__version__, today=today, timezone=timezone, diagnostics=diagnostics,
                summary=summarize([], diagnostics))
    return plan.model_dump(mode="json")


def _valid_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def _make_plan(request: PlanRequest, provider, known: dict) -> PlanResult:
    """make_plan's work; `known` collects the timezone and the date as soon as they are known."""
    from reconciler.plan.planner import plan

    if request.changed_since:
        from reconciler.scope import load_changed

        repo, scope = load_changed(_one_directory(request.paths), request.changed_since)
        complete, diagnostics = scope.complete, scope.diagnostics
    else:
        (repo, complete, diagnostics), scope = load_desired(request.paths, request.settings_root), None
    known["timezone"] = _valid_timezone(repo.config.timezone)
    _stop_on_errors(diagnostics)
    today = known["today"] = decide_today(request.today, repo.config.timezone)
    if provider is None:
        from reconciler.providers.select import provider_for

        provider = provider_for(repo.config, repo.root, request.state)
    current = provider.read(today)
    if scope is not None:
        _stop_on_errors(scope.reach(repo, current))
    portal_today = portal_day(today, repo.config.timezone, repo.config.portal_timezone)
    result = plan([s.model for s in repo.customers], current, today, repo.config.policy,
                  catalog=_catalog(repo, current), timezone=repo.config.timezone, complete=complete,
                  price_book=repo.price_book, portal_today=portal_today)
    document = result.model_dump(mode="json")
    document["diagnostics"] = _place(document["diagnostics"], repo.customers)
    if scope is not None:
        notes = [{**dict.fromkeys(("customer", "pbx", "file", "line", "column")), **d.to_dict()} for d in scope.notes]
        document["diagnostics"] = notes + document["diagnostics"]
        document["summary"]["warnings"] += sum(d["severity"] == "warning" for d in notes)
    if request.drift:
        from reconciler.backends.drift import drift_for

        changed = drift_for(repo.config, getattr(provider, "target", None), current, [s.model.customer for s in repo.customers])
        if changed:
            document["drift"] = changed
    document["fingerprints"] = {
        "desired": fingerprint_files(repo.customers, repo.config_path, repo.root),
        "current": fingerprint_state(current),
    }
    errors = any(d["severity"] == "error" for d in document["diagnostics"])
    partial = None if complete else desired_paths(repo.customers, repo.config_path, repo.root)
    return PlanResult(document, errors, current, partial)


def _stop_on_errors(diagnostics: list[Diagnostic]) -> None:
    if has_errors(diagnostics):
        raise ReconcilerError("the desired state is not valid; nothing was planned", sorted_diagnostics(diagnostics))


def _one_directory(paths: list[str]) -> Path:
    if len(paths) > 1 or (paths and not Path(paths[0]).is_dir()):
        raise ReconcilerError("--changed-since plans one repo directory (default: .), not files")
    return Path(paths[0] if paths else ".")


def _catalog(repo: Repo, current: Snapshot) -> set[str] | None:
    """The product catalog: the price book's when one is configured, else the provider's (FORMAT.md section 5)."""
    if repo.price_book is not None:
        return repo.catalog
    return {product for products in (current.catalog or {}).values() for product in products} or None


def _place(diagnostics: list[dict], sources: list[CustomerSource]) -> list[dict]:
    """Give planner diagnostics the file and line of the customer or PBX they speak of."""
    files = {s.model.customer: s for s in sources}
    placed = []
    for d in diagnostics:
        source = files.get(d.get("customer") or "")
        if source and not d.get("file"):
            path = ("pbxes", d["pbx"]) if d.get("pbx") and d["pbx"] in source.model.pbxes else ("customer",)
            where = source.positions.key(path)
            d = {**d, "file": where.file, "line": where.line, "column": where.column}
        placed.append(d)
    return placed
