"""The `snapshot` provider: current state read from a YAML file (FORMAT.md section 4). Read-only."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from reconciler.binding import bind
from reconciler.diagnostics import Diagnostic, ReconcilerError, error
from reconciler.snapshot import Snapshot
from reconciler.yamlio import Document, Positions, load_checked

# A partner's whole portal in one file: 5,000 customers are about 4 MB (a customer file stops at 10 MiB).
# Reading takes about 20 times the file's size in memory (the parsed values, then the models), so a
# snapshot stops at 64 MiB, some 75,000 customers and 1.3 GB of memory, rather than exhaust a CI runner.
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
                                  f"at most {MAX_SNAPSHOT_BYTES // 1024 // 1024} MiB (reading one takes about 20 "
                                  "times its size in memory); read the portal through its provider instead")
        snapshot, diagnostics = load_checked(self.path, self.display, _check, max_bytes=MAX_SNAPSHOT_BYTES,
                                             max_nodes=None)
        if snapshot is None or diagnostics:
            raise ReconcilerError(f"state file {self.display} is not a valid snapshot", diagnostics)
        return snapshot


def _check(document: Document) -> tuple[Snapshot | None, list[Diagnostic]]:
    snapshot, problems = bind(document, Snapshot)
    if snapshot is None:
        return None, problems
    return snapshot, check_snapshot(snapshot, document.positions)


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
