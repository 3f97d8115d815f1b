"""`reconciler validate`: load and check desired state, with no provider (FORMAT.md section 5).

load -> checks -> diagnostics: each directory given is a repo of its own (its settings, its
customers); loose files are checked together, without settings. A file named twice, or
reached both as a file and inside a directory, is checked once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Position, error, sorted_diagnostics
from reconciler.loader import Inputs, load
from reconciler.repo import CustomerSource, check_unique_ids


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
        only = (lambda path: path.resolve() not in seen) if seen else None
        inputs = load([target], only=only, settings_root=None, provider_catalog=True)
        read, problems = _unseen(inputs, seen)
        seen.update(inputs.loaded)
        diagnostics += problems
        files += read
        customers += len(inputs.customers)
        if target.is_file():
            loose += inputs.customers
    diagnostics += check_unique_ids(loose)
    return ValidationResult(files, customers, sorted_diagnostics(diagnostics))


def _unseen(inputs: Inputs, seen: set[Path]) -> tuple[int, list[Diagnostic]]:
    """(files read, problems) less the repo settings an earlier path already checked."""
    if inputs.config_path is None or Path(inputs.config_path).resolve() not in seen:
        return inputs.files, list(inputs.diagnostics)
    settings = set(inputs.read[:1 + bool(inputs.config.price_book)])
    return inputs.files - len(settings), [d for d in inputs.diagnostics if d.file not in settings]
