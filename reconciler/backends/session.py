"""The one place apply asks the configured backend: lock, report what an earlier run left, journal, record.

    with apply_session(backend, provider, "apply", timeout, lambda: customers) as session:
        ... apply_plan(document, provider, today, session.journal, ...) ...
        session.finish(result, document, today)

A per-customer backend locks the customers the plan touches (its steps' customers and
the other side of their transfers), all at once; the local backend locks the portal.
Notes for the user (a lease taken over from a dead run, an unfinished earlier run) go
to stderr once the lock is held, so a run that only waited never reports the run it
waited for as cut short.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler.apply.hold import portal_lease, step_customers
from reconciler.apply.journal import UnfinishedRun
from reconciler.backends import ApplyRecord, Backend, Held, JournalWriter
from reconciler.diagnostics import ReconcilerError
from reconciler.plan.changes import transfer_source

def touched_customers(document: dict, also: Iterable[str] = ()) -> list[str]:
    """The customers a plan changes: its steps' customers and the source of each transfer, sorted."""
    found = set(also)
    for step in document.get("steps", []):
        found |= step_customers(step.get("action"), step["customer"], transfer_source(step.get("changes")))
    return sorted(found)


@dataclass
class ApplySession:
    backend: Backend
    held: Held
    customers: list[str]
    provider: object
    unfinished: UnfinishedRun | None
    scoped: bool = False  # the lock covers only `customers` (per-customer leases), not the whole portal

    @property
    def journal(self) -> JournalWriter:
        return self.backend.journal(self.held, self.customers)

    def check(self, document: dict) -> None:
        """Refuse a plan made under the lock that touches a customer this run did not lock."""
        if not self.scoped:
            return
        extra = sorted(set(touched_customers(document)) - set(self.customers))
        if extra:
            raise ReconcilerError(f"the plan now also touches {', '.join(extra)}, which this apply did not lock "
                                  "(the portal changed meanwhile): nothing was applied; run apply again")

    def finish(self, result, document: dict, today: dt.date) -> None:
        """Record the apply in the history, with the state it left (what `plan` compares for drift)."""
        steps = len(document.get("steps", []))
        failed = 1 if result.failed else 0
        customers = self.customers or touched_customers(document)
        state = {}
        try:
            current = self.provider.read(today)
            state = {c: current.customers[c].model_dump(mode="json") for c in customers if c in current.customers}
        except ReconcilerError as exc:  # the history still says what was done; drift has nothing to compare
            print(f"warning: could not read the portal after apply, so history has no state for drift: {exc}",
                  file=sys.stderr)
        self.backend.record(self.held, ApplyRecord(
            run=result.run, plan=document.get("checksum") or "interactive",
            outcome="complete" if result.ok else "failed", customers=customers, done=len(result.done),
            failed=failed, skipped=steps - len(result.done) - failed, state=state))


@contextmanager
def apply_session(backend: Backend, provider, command: str, timeout: float,
                  customers: Callable[[], list[str]]) -> Iterator[ApplySession]:
    if getattr(provider, "lease", None) is not None and not backend.per_customer:
        wanted = customers()  # a portal over the network: its own lease replaces the local lock file
        lock = portal_lease(provider, command, timeout, wanted)
    else:
        wanted = customers() if backend.per_customer else []
        lock = backend.acquire(wanted, command, timeout, provider=getattr(provider, "name", None))
    scoped = bool(backend.per_customer or getattr(provider, "lease", None))
    with lock as held:
        for lease in getattr(held, "stale", []):
            state = "expired" if lease.get("expired") else "left by a process on this host that is gone"
            print(f"note: took over the lease on customer {lease['customer']} held by {lease.get('command')} "
                  f"(pid {lease.get('pid')}, user {lease.get('user')} on host {lease.get('host')}) since "
                  f"{lease.get('since')}, {state} (until {lease.get('expires')}); lock ID {lease.get('id')}: "
                  "that apply stopped without releasing it", file=sys.stderr)
        unfinished = backend.unfinished_run(wanted, held)
        if unfinished is not None:
            print(f"note: {unfinished.message()}", file=sys.stderr)
        yield ApplySession(backend, held, wanted, provider, unfinished, scoped)


def customer_ids(repo) -> list[str]:
    """The customers a repo's files describe (an interactive apply locks them even when they have no steps)."""
    return [source.model.customer for source in repo.customers]
