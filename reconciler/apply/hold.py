"""What apply holds while it runs: the portal's lease over the run's customers, or the lock file.

A portal reached over the network (a provider with `lease`) is shared by many runners,
each applying one customer repo: the lease covers only the customers a plan touches
(its steps' customers and the other sides of their transfers), so runs on different
customers go at once and two runs on one customer exclude each other. A local portal
(the sandbox file) keeps its one lock file beside it (reconciler.apply.lock).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import contextmanager
from types import SimpleNamespace

from reconciler.apply.lock import acquire
from reconciler.diagnostics import ReconcilerError


def plan_customers(document: dict) -> list[str]:
    """Every customer the document's ready steps touch, the other side of each transfer included."""
    found = set()
    for step in document.get("steps", []):
        if step.get("status") != "ready":
            continue
        found.add(step["customer"])
        source = (step.get("changes") or {}).get("from")
        if isinstance(source, str) and "/" in source:
            found.add(source.split("/", 1)[0])
    return sorted(found)


@contextmanager
def hold(provider, command: str, timeout: float, customers: Callable[[], list[str]]):
    """Hold the lease (or the lock) for the block; LockHeld when another run has it."""
    lease = getattr(provider, "lease", None)
    if lease is None:
        with acquire(provider.target, command, timeout, provider=getattr(provider, "name", None)) as lock:
            yield lock
        return
    wanted = customers()
    if not wanted:  # nothing to carry out: no lease, and a plan made now must still have nothing to do
        yield SimpleNamespace(customers=[])
        return
    with lease(wanted, command, timeout) as handle:
        for gone in handle.expired:
            print(f"note: an earlier run's lease on {', '.join(gone.customers)} ({gone.operation} by {gone.owner}, "
                  f"since {gone.created.isoformat(timespec='seconds')}) expired without being released: that run "
                  "may have stopped mid-apply; this run re-plans from the portal's state", file=sys.stderr)
        yield handle


def check_covered(held, document: dict) -> None:
    """The plan made under a lease must stay within it (the portal may have moved before it was taken)."""
    covered = getattr(held, "customers", None)
    if covered is None:
        return
    outside = sorted(set(plan_customers(document)) - set(covered))
    if outside:
        raise ReconcilerError(f"the portal changed while its lease was taken: the plan now also touches "
                              f"{', '.join(outside)}; nothing was applied, apply again")
