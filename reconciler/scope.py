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
from reconciler.repo import (CUSTOMERS_DIR, CustomerSource, Repo, check_unique_ids, discover, is_customer_path,
                             load_customer, load_repo, load_settings)
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
        texts: dict[Path, str] = {}  # each other file is read once, however many rounds the reach takes
        problems: list[Diagnostic] = []
        reached: list[str] = []
        while True:
            planned = {source.model.customer for source in repo.customers}
            pinned = {serial for source in repo.customers for serial in _pins(source)}
            serials = pinned | {serial for serial, owner in owners.items() if owner in planned}
            givers = {owners[serial] for serial in pinned if serial in owners} - planned
            if not serials and not givers:
                break
            named = _customer_line(givers)
            found = [path for path in self.others
                     if _mentions(_text(path, texts), serials, named)]
            added = False
            for path in found:
                self.others.remove(path)
                source, diagnostics = load_customer(path, repo.catalog)
                if source is None:  # it names a device or customer in play, and cannot be read: stop on it
                    problems += diagnostics
                elif source.model.customer in givers or not serials.isdisjoint(_pins(source)):
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


def _pins(source: CustomerSource) -> set[str]:
    return {serial for pbx in source.model.pbxes.values() for serial in pbx.pinned}


def _text(path: Path, texts: dict[Path, str]) -> str:
    if path not in texts:
        try:
            texts[path] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            texts[path] = ""
    return texts[path]


def _customer_line(customers: set[str]) -> re.Pattern | None:
    """The `customer: ID` line of any of these customers' files, or None for none."""
    if not customers:
        return None
    ids = "|".join(re.escape(c) for c in sorted(customers))
    return re.compile(rf"^customer:\s*['\"]?(?:{ids})['\"]?\s*(#.*)?$", re.M)


def _mentions(text: str, serials: set[str], customer_line: re.Pattern | None) -> bool:
    """A cheap test on the text, before a file is loaded: does it name one of these serials or customers?"""
    return any(serial in text for serial in serials) or bool(customer_line and customer_line.search(text))


def _note(severity: Severity, message: str, **where) -> Diagnostic:
    return Diagnostic(severity, "changed-since", message, **where)


def load_changed(root: Path, ref: str) -> tuple[Repo, Scope]:
    """The repo with only the customers whose files changed since `ref` (or all of it, when its settings did)."""
    changes = changes_since(root, ref)
    short = f"{ref} ({changes.commit[:10]})" if not changes.commit.startswith(ref) else ref
    if changes.diverged:
        short = f"the merge base of {ref} and HEAD ({changes.commit[:10]})"
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
        source, problems = load_customer(path, repo.catalog)
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


def _deleted(root: Path, repo: Repo, changes: Changes, ref: str) -> list[Diagnostic]:
    """A warning for each customer file deleted since `ref`: its customer is now absent from the repo."""
    planned = {source.model.customer: source.path for source in repo.customers}
    notes = []
    for relative in changes.deleted:
        path = PurePosixPath(relative)
        in_customers_dir = (root / CUSTOMERS_DIR).is_dir() or path.parts[:1] == (CUSTOMERS_DIR,)
        if not is_customer_path(path, repo.config, in_customers_dir):  # a folder deleted whole counts too
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
