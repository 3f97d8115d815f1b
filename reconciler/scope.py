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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from reconciler.cache import Cache
from reconciler.config import CONFIG_FILE
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.gitops import Changes, changes_since, read_at
from reconciler.loader import Inputs, load, load_settings
from reconciler.pins import PinIndex, pin_index
from reconciler.repo import CUSTOMERS_DIR, CustomerSource, below, is_customer_path, load_customer
from reconciler.yamlio import parse


class Holders(Protocol):
    """Who holds what in the current state: each device serial's customer, and the serials of some customers."""

    @property
    def serials(self) -> Mapping[str, str]: ...

    def held(self, customers: Iterable[str]) -> set[str]: ...


@dataclass(frozen=True)
class Scope:
    """Which customer files a `--changed-since` plan reads; it decides paths and never changes loaded inputs."""

    changes: Changes
    complete: bool
    root: Path
    selected: frozenset[str] = frozenset()  # the customer files planned (unless complete), as `discover` names them
    others: tuple[str, ...] = ()  # the customer files not planned (yet)
    notes: tuple[Diagnostic, ...] = ()  # what the plan covers; deleted files

    def reach(self, inputs: Inputs, state: Holders, cache: Cache | None = None
              ) -> tuple[Inputs, list[Diagnostic], list[Diagnostic]]:
        """The inputs with the other sides of the planned customers' device transfers; (inputs, problems, notes).

        `state`: who holds what in the current state (reconciler.current, reconciler.snapshotparts).
        """
        if self.complete:
            return inputs, [], []
        texts: dict[str, bytes] = {}  # each other file is read once, however many rounds the reach takes
        others, customers = list(self.others), list(inputs.customers)
        problems: list[Diagnostic] = []
        reached: list[str] = []
        index: PinIndex | None | bool = False  # made when first needed (False: not yet)
        while True:
            planned = {source.model.customer for source in customers}
            pinned = {serial for source in customers for serial in _pins(source)}
            owners = state.serials
            serials = pinned | state.held(planned)
            givers = {owners[serial] for serial in pinned if serial in owners} - planned
            if not serials and not givers:
                break
            if index is False:
                names = below(self.root)  # discovery joins each file's names onto the root's
                relatives = {path: path[names:] for path in others}
                index = pin_index(self.root, self.changes.commit, [(r, p) for p, r in relatives.items()],
                                  self.changes.changed, cache)
                known = index.known if index is not None else frozenset()
            named = _customer_line(givers)
            wanted = {serial.encode("utf-8", "surrogateescape") for serial in serials}
            hits = index.reaching(serials, givers) if index is not None else set()
            found = [path for path in others if (relative := relatives[path]) in hits
                     or relative not in known and _mentions(_text(path, texts), wanted, named)]
            added = False
            for path in found:
                others.remove(path)
                source, diagnostics = load_customer(path, inputs.catalog)
                if source is None:  # it names a device or customer in play, and cannot be read: stop on it
                    problems += diagnostics
                elif source.model.customer in givers or not serials.isdisjoint(_pins(source)):
                    customers.append(source)
                    reached.append(path)
                    added = True
            if not added:
                break
        if not reached:
            return inputs, problems, []
        wider = load([self.root], only=(self.selected | set(reached)).__contains__, cache=cache)
        names = {source.path: source.model.customer for source in wider.customers}
        note = _note(Severity.INFO, "also planned, as the other side of a device transfer: "
                     + ", ".join(f"{names.get(path, '?')} ({path})" for path in reached))
        return wider, problems + list(wider.diagnostics), [note]


def _pins(source: CustomerSource) -> set[str]:
    return {serial for pbx in source.model.pbxes.values() for serial in pbx.pinned}


def _text(path: str, texts: dict[str, bytes]) -> bytes:
    """The file's bytes: the serials and ids looked for are ASCII, so a test on the bytes needs no decoding."""
    if path not in texts:
        try:
            with open(path, "rb") as file:
                texts[path] = file.read()
        except OSError:
            texts[path] = b""
    return texts[path]


def _customer_line(customers: set[str]) -> re.Pattern | None:
    """The `customer: ID` line of any of these customers' files, or None for none."""
    if not customers:
        return None
    ids = "|".join(re.escape(c) for c in sorted(customers))
    return re.compile(rf"^customer:\s*['\"]?(?:{ids})['\"]?\s*(#.*)?$".encode(), re.M)


def _mentions(text: bytes, serials: set[bytes], customer_line: re.Pattern | None) -> bool:
    """A cheap test on the text, before a file is loaded: does it name one of these serials or customers?"""
    return any(serial in text for serial in serials) or bool(customer_line and customer_line.search(text))


def _note(severity: Severity, message: str, **where) -> Diagnostic:
    return Diagnostic(severity, "changed-since", message, **where)


def load_changed(root: Path, ref: str, cache: Cache | None = None) -> tuple[Inputs, Scope]:
    """The inputs with only the customers whose files changed since `ref` (or all of them, when its settings did).

    `cache`: the run's cache of the repo (reconciler.cache), for the customer files it loads.
    """
    changes = changes_since(root, ref)
    short = f"{ref} ({changes.commit[:10]})" if not changes.commit.startswith(ref) else ref
    if changes.diverged:
        short = f"the merge base of {ref} and HEAD ({changes.commit[:10]})"
    settings = load_settings(root)  # which files are settings; the catalog
    names = [CONFIG_FILE] + ([PurePosixPath(settings.config.price_book).as_posix()] if settings.config.price_book else [])
    touched = [name for name in names if changes.touches(name)]
    if touched:
        note = _note(Severity.INFO, f"{' and '.join(touched)} changed since {short}: "
                                    "the repo's settings reach every customer, so the whole repo is planned")
        return load([root], cache=cache), Scope(changes, True, root, notes=(note,))

    chosen = frozenset(str(root / relative) for relative in changes.changed)  # as `discover` names them
    inputs = load([root], only=chosen.__contains__, cache=cache)
    candidates, read = inputs.discovered, set(inputs.read)
    selected = frozenset(path for path in chosen if path in read)  # the customer files among them
    note = _note(Severity.INFO, f"planning {len(selected)} of {len(candidates)} customer "
                                f"file{'s' if len(candidates) != 1 else ''}: those changed since {short}")
    others = tuple(path for path in candidates if path not in selected)
    notes = (note, *_deleted(root, inputs, changes, short))
    return inputs, Scope(changes, False, root, selected, others, notes)


def _deleted(root: Path, repo: Inputs, changes: Changes, ref: str) -> list[Diagnostic]:
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
