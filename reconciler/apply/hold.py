"""A portal reached over the network holds its own lease over the customers a run touches.

A portal over the network (a provider with `lease`) is shared by many runners, each
applying one customer repo: the lease covers only the customers a plan touches (its
steps' customers and the other sides of their transfers), so runs on different customers
go at once and two runs on one customer exclude each other. With the local backend it
takes the place of the lock file beside the sandbox (reconciler.backends.session decides).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from types import SimpleNamespace


TRANSFER = "transfer-hwaas"


def step_customers(action: str, customer: str, source: str | None) -> set[str]:
    """The customers one step touches: its own, and for a transfer the customer (of `source`, customer/pbx)
    the devices come from."""
    found = {customer}
    if action == TRANSFER and source:
        found.add(source.split("/", 1)[0])
    return found


@contextmanager
def portal_lease(provider, command: str, timeout: float, customers: list[str]):
    """Hold the portal's lease over `customers` for the block; LockHeld when another run has one of them."""
    if not customers:  # nothing to carry out: no lease, and a plan made now must still have nothing to do
        yield SimpleNamespace(customers=[], info={})
        return
    with provider.lease(customers, command, timeout) as handle:
        for gone in handle.expired:
            print(f"note: an earlier run's lease on {', '.join(gone.customers)} ({gone.operation} by {gone.owner}, "
                  f"since {gone.created.isoformat(timespec='seconds')}) expired without being released: that run "
                  "may have stopped mid-apply; this run re-plans from the portal's state", file=sys.stderr)
        yield handle
