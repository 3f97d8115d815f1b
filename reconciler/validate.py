"""`reconciler validate`: load and check desired state, with no provider (FORMAT.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Position, error, sorted_diagnostics
from reconciler.repo import CustomerSource, check_unique_ids, load_repo


@dataclass(frozen=True)
class ValidationResult:
    files: int
    customers: int
    diagnostics: list[Diagnostic]


def validate_paths(paths: list[str]) -> ValidationResult:
    """Check every path: each directory is a repo of its own; loose files are checked together."""
    diagnostics: list[Diagnostic] = []
    files = 0
    loose: list[CustomerSource] = []
    customers = 0
    seen: set[Path] = set()  # resolved files already checked: overlapping paths check each file once
    for raw in paths or ["."]:
        target = Path(raw)
        if not target.exists():
            diagnostics.append(error(Position(raw), "schema", "no such file or directory"))
            continue
        if target.is_file() and target.resolve() in seen:
            continue
        repo, problems = load_repo(target, skip=frozenset(seen), provider_catalog=True)
        seen.update(repo.loaded)
        diagnostics += problems
        files += repo.files
        customers += len(repo.customers)
        if target.is_file():
            loose += repo.customers
    diagnostics += check_unique_ids(loose)
    return ValidationResult(files, customers, sorted_diagnostics(diagnostics))

