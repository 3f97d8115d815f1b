"""The scope of `plan --changed-since REF`: the customers whose files changed, and those the changes reach.

A pull request that changes one customer file is planned as that customer alone (a partial
plan: customers it does not name are neither unmanaged nor pruned), plus the other side of
each device transfer it takes part in: the customer a pinned device comes from, and any
customer whose file pins a device the planned customers hold. A change to the repo's
settings (reconciler.yaml, the price book) reaches every customer: the whole repo is planned.
A deleted customer file is reported, with what becomes of its customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from reconciler.config import CONFIG_FILE
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.gitops import Changes, changes_since, read_at
from reconciler.repo import (CUSTOMERS_DIR, YAML_SUFFIXES, Repo, check_unique_ids, discover, load_customer,
                             load_repo, load_settings)
from reconciler.snapshot import Snapshot
from reconciler.yamlio import parse


@dataclass
class Scope:
    changes: Changes
    complete: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)  # problems of the files loaded
    notes: list[Diagnostic] = field(default_factory=list)  # what the plan covers; deleted files
    others: list[Path] = field(default_factory=list)  # the customer files not loaded (yet)

    def reach(self, repo: Repo, current: Snapshot) -> list[Diagnostic]:
        """Load the customers on the other side of the planned customers' device transfers; their problems."""
        if self.complete:
            return []
        owners = {device.serial: customer_id for customer_id, customer in current.customers.items()
                  for pbx in customer.pbxes.values() for device in pbx.devices}
        problems: list[Diagnostic] = []
        reached: list[str] = []
        while True:
            planned = {source.model.customer for source in repo.customers}
            pinned = {serial for source in repo.customers for pbx in source.model.pbxes.values()
                      for serial in pbx.pinned}
            held = {serial for serial, owner in owners.items() if owner in planned}
            givers = {owners[serial] for serial in pinned if serial in owners} - planned
            found = [path for path in self.others if _mentions(path, held | pinned, givers)]
            added = False
            for path in found:
                self.others.remove(path)
                source, diagnostics = load_customer(path, _catalog(repo))
                if source is None:  # it names a device or customer in play, and cannot be read: stop on it
                    problems += diagnostics
                elif source.model.customer in givers or _pins_any(source, held | pinned):
                    problems += diagnostics
                    repo.customers.append(source)
                    reached.append(f"{source.model.customer} ({source.path})")
                    added = True
            if not added:
                break
        if reached:
            self.notes.append(_note(Severity.INFO, "also planned, as the other side of a device transfer: "
                                    + ", ".join(reached)))
        return problems + check_unique_ids(repo.customers)


def _pins_any(source, serials: set[str]) -> bool:
    return any(serial in serials for pbx in source.model.pbxes.values() for serial in pbx.pinned)


def _catalog(repo: Repo) -> set[str] | None:
    return repo.price_book.products() if repo.price_book is not None else None


def _mentions(path: Path, serials: set[str], customers: set[str]) -> bool:
    """A cheap test on the text, before a file is loaded: does it name one of these serials or customer ids?"""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if any(serial in text for serial in serials):
        return True
    return any(re.search(rf"^customer:\s*['\"]?{re.escape(c)}['\"]?\s*(#.*)?$", text, re.M) for c in customers)


def _note(severity: Severity, message: str, **where) -> Diagnostic:
    return Diagnostic(severity, "changed-since", message, **where)


def load_changed(root: Path, ref: str) -> tuple[Repo, Scope]:
    """The repo with only the customers whose files changed since `ref` (or all of it, when its settings did)."""
    changes = changes_since(root, ref)
    short = f"{ref} ({changes.commit[:10]})" if not changes.commit.startswith(ref) else ref
    repo = Repo(root=root)
    diagnostics = load_settings(repo, root)
    settings = [CONFIG_FILE] + ([PurePosixPath(repo.config.price_book).as_posix()] if repo.config.price_book else [])
    touched = [name for name in settings if changes.touches(name)]
    if touched:
        whole, problems = load_repo(root)
        note = _note(Severity.INFO, f"{' and '.join(touched)} changed since {short}: "
                                    "the repo's settings reach every customer, so the whole repo is planned")
        return whole, Scope(changes, True, problems, [note])

    candidates = discover(root, repo.config)
    selected = [path for path in candidates if path.relative_to(root).as_posix() in changes.changed]
    for path in selected:
        source, problems = load_customer(path, _catalog(repo))
        diagnostics += problems
        if source:
            repo.customers.append(source)
    diagnostics += check_unique_ids(repo.customers)
    repo.files = len(selected)
    scope = Scope(changes, False, diagnostics, others=[path for path in candidates if path not in selected])
    scope.notes.append(_note(Severity.INFO, f"planning {len(selected)} of {len(candidates)} customer "
                                            f"file{'s' if len(candidates) != 1 else ''}: those changed since {short}"))
    scope.notes += _deleted(root, repo, changes, short)
    return repo, scope


def _is_customer_path(root: Path, relative: str, repo: Repo) -> bool:
    path = PurePosixPath(relative)
    if path.suffix not in YAML_SUFFIXES or any(part.startswith(".") for part in path.parts):
        return False
    if (root / CUSTOMERS_DIR).is_dir() or path.parts[0] == CUSTOMERS_DIR:
        return path.parts[0] == CUSTOMERS_DIR and len(path.parts) > 1
    snapshot = repo.config.provider.path if repo.config.provider.kind == "snapshot" else None
    return len(path.parts) == 1 and path.name != CONFIG_FILE and path.name != (snapshot and Path(snapshot).name)


def _deleted(root: Path, repo: Repo, changes: Changes, ref: str) -> list[Diagnostic]:
    """A warning for each customer file deleted since `ref`: its customer is now absent from the repo."""
    planned = {source.model.customer: source.path for source in repo.customers}
    notes = []
    for relative in changes.deleted:
        if not _is_customer_path(root, relative, repo):
            continue
        display = str(root / relative)
        customer = _customer_of(read_at(root, changes.commit, relative), display)
        if customer in planned:
            notes.append(_note(Severity.INFO, f"{display} was deleted since {ref}; customer '{customer}' "
                                              f"is now in {planned[customer]}", customer=customer))
            continue
        who = f"customer '{customer}'" if customer else "its customer"
        if repo.config.policy.prune:
            fate = ("the configuration sets prune: true, so a whole-repo plan decommissions it (every license of "
                    "its PBXs removed): run `reconciler plan` without --changed-since to see those steps")
        else:
            fate = "it is now unmanaged: reconciler no longer plans it, and the portal keeps it as it is"
        notes.append(Diagnostic(Severity.WARNING, "customer-file-deleted",
                                f"{display} was deleted since {ref}: {who} is absent from the repo; {fate}",
                                file=display, customer=customer))
    return notes


def _customer_of(text: str | None, display: str) -> str | None:
    if text is None:
        return None
    document, _ = parse(text, display)
    data = document.data if document is not None else None
    customer = data.get("customer") if isinstance(data, dict) else None
    return customer if isinstance(customer, str) else None
