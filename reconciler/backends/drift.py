"""Drift: what changed in the portal outside reconciler since the last apply, per customer.

Every apply records, in its backend's history, the state it left for each customer it
touched. `plan` compares that with what the portal holds now and lists the fields that
differ, as Terraform's "Objects have changed outside of Terraform" does: someone edited
the portal by hand, or another tool did. `drift` is pure; `drift_for` is the edge that
asks the backend.
"""

from __future__ import annotations

import sys
from typing import Any

from reconciler.config import Config
from reconciler.diagnostics import ReconcilerError
from reconciler.snapshot import Snapshot

GONE = "(absent)"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"pbxes": {"acme": {"licenses": {"basic": 5}}}} -> {"pbxes.acme.licenses.basic": 5}; devices by serial."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "serial" in v for v in value):
        items = ((f"[{v['serial']}]", v) for v in value)
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in items:
        flat |= flatten(inner, f"{prefix}{key}" if key.startswith("[") or not prefix else f"{prefix}.{key}")
    return flat or {prefix: value}


def drift(last: dict[str, dict], now: dict[str, dict]) -> list[dict]:
    """The fields that differ between the state the last apply left and the portal now, sorted."""
    found = []
    for customer in sorted(last):
        before = flatten(last[customer])
        after = flatten(now[customer]) if customer in now else {}
        for field in sorted(set(before) | set(after)):
            was, is_now = before.get(field, GONE), after.get(field, GONE)
            if was != is_now:
                found.append({"customer": customer, "field": field, "last": was, "now": is_now})
    return found


def drift_for(config: Config, target, current: Snapshot, customers: list[str]) -> list[dict]:
    """Drift of these customers, from the configured backend; [] (with a warning) when it cannot be read."""
    if target is None and config.backend.kind == "local":  # a read-only provider: no apply left history beside it
        return []
    from reconciler.backends import backend_for  # not on a plan from a snapshot file: it imports all of apply

    try:
        backend = backend_for(config, target)
        try:
            last = backend.last_states(customers)
        finally:
            backend.close()
    except ReconcilerError as exc:
        print(f"warning: drift not checked: {exc}", file=sys.stderr)
        return []
    return drift(last, {c: current.customers[c].model_dump(mode="json") for c in last if c in current.customers})
