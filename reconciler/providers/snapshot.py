"""The `snapshot` provider: current state read from a YAML file (FORMAT.md section 4). Read-only."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from reconciler.binding import bind
from reconciler.diagnostics import Diagnostic, ReconcilerError, error
from reconciler.snapshot import Snapshot
from reconciler.yamlio import Document, Positions, load_checked

# A partner's whole portal in one file: 5,000 customers are about 4 MB (a customer file stops at 10 MiB).
# Reading takes about 11 times the file's size in memory (the parsed values, and the models of a few hundred
# customers at a time: `bind_snapshot`; measured at 10,000 customers, 8.5 MB), so a snapshot stops at 64 MiB,
# some 75,000 customers and 0.7 GB of memory, rather than exhaust a CI runner.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


class SnapshotProvider:
    name = "snapshot"

    def __init__(self, path: Path, display: str | None = None):
        self.path = path
        self.display = display or str(path)

    def read(self, today=None) -> Snapshot:
        """The file as it is; `today` is not used (a snapshot does not move on its own)."""
        if not self.path.is_file():
            raise ReconcilerError(f"state file {self.display} not found")
        size = self.path.stat().st_size
        if size > MAX_SNAPSHOT_BYTES:
            raise ReconcilerError(f"state file {self.display} is {size / 1024 / 1024:,.0f} MiB: a snapshot may have "
                                  f"at most {MAX_SNAPSHOT_BYTES // 1024 // 1024} MiB (reading one takes about 11 "
                                  "times its size in memory); read the portal through its provider instead")
        snapshot, diagnostics = load_checked(self.path, self.display, _check, max_bytes=MAX_SNAPSHOT_BYTES,
                                             max_nodes=None)
        if snapshot is None or diagnostics:
            raise ReconcilerError(f"state file {self.display} is not a valid snapshot", diagnostics)
        return snapshot


def _check(document: Document) -> tuple[Snapshot | None, list[Diagnostic]]:
    snapshot, problems = bind_snapshot(document)
    if snapshot is None:
        return None, problems
    return snapshot, check_snapshot(snapshot, document.positions)


CHUNK = 500  # customers bound at a time


def bind_snapshot(document: Document) -> tuple[Snapshot | None, list[Diagnostic]]:
    """`bind(document, Snapshot)`, the customers a few hundred at a time, each chunk's parsed values let go (from
    the document) once they are bound: the parsed portal and its models are never both whole in memory.

    Each chunk is bound as a snapshot of those customers (the same checks, and errors at the same places as
    the whole file's); what is wrong outside the customers is said once.
    """
    data = document.data
    customers = data.get("customers") if isinstance(data, dict) else None
    if not isinstance(customers, dict) or len(customers) <= CHUNK:
        return bind(document, Snapshot)
    head = {key: value for key, value in data.items() if key != "customers"}
    first, problems = bind(Document({**head, "customers": {}}, document.positions), Snapshot)
    said, bound, ids = set(problems), {}, list(customers)
    for start in range(0, len(ids), CHUNK):
        chunk = {cid: customers[cid] for cid in ids[start:start + CHUNK]}
        part, found = bind(Document({**head, "customers": chunk}, document.positions), Snapshot)
        problems += [problem for problem in found if problem not in said]  # the head's are said once
        if part is not None:
            bound.update(part.customers)
        for cid in chunk:
            customers[cid] = None
    if problems:
        return None, problems
    return first.model_copy(update={"customers": bound}), []


def check_snapshot(snapshot: Snapshot, positions: Positions) -> list[Diagnostic]:
    """What the schema cannot say: a device serial stands on one PBX only; cloud facts are on cloud PBXs."""
    seen: dict[str, list[tuple]] = defaultdict(list)
    found = []
    for customer_id, customer in snapshot.customers.items():
        for pbx_name, pbx in customer.pbxes.items():
            base = ("customers", customer_id, "pbxes", pbx_name)
            for index, device in enumerate(pbx.devices):
                seen[device.serial].append((*base, "devices", index, "serial"))
                if device.billing == "hwaas" and device.since is None:
                    found.append(error(positions.value((*base, "devices", index)), "schema",
                                       f"HWaaS device {device.serial} needs 'since' (its order or conversion date)"))
            if pbx.model == "cloud" and not pbx.region:
                found.append(error(positions.key(base), "schema", f"cloud PBX '{pbx_name}' has no region"))
            if pbx.term != "lifetime" and pbx.expires_on is None:
                found.append(error(positions.key(base), "schema",
                                   f"PBX '{pbx_name}' on term {pbx.term} needs 'expires_on'"))
    for serial, paths in seen.items():
        for path in paths[1:]:
            first = positions.value(paths[0]).line
            found.append(error(positions.value(path), "schema",
                               f"device {serial} is listed twice (first on line {first})"))
    return found
