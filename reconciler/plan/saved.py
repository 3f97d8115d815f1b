"""The saved plan (`plan --out`): the plan document, the state it was made from, and a checksum.

apply refuses a saved plan that was altered (the checksum), made against another
state (`stale-plan`: the recorded state lets it say what changed, field by field) or
on another date (`plan-date-bound`). The checksum covers everything but itself.

A partial plan (customer files named, or `--changed-since`) records only the portal
customers it reads: its own, the other side of each device it pins (a transfer's source)
and any customer holding a PBX name it uses; the partner, stock and catalog whole. Saved
plans are CI artifacts: a plan of one customer does not carry every customer's contacts.
Its state fingerprint, the stale check, resuming and the re-plan proof all work on that
recorded subset, so a change to an unrelated customer does not make it stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reconciler.fingerprint import document_checksum

if TYPE_CHECKING:
    from reconciler.desired import CustomerFile
    from reconciler.snapshot import Snapshot

CHECKSUM = "checksum"
RECORDED_STATE = "recorded_state"
DESIRED_FILES = "desired_files"  # a partial plan's files: the desired fingerprint covers only these
REPO_ROOT = "repo_root"  # the repo the plan belongs to, relative to the plan file's folder
SAVED_ONLY = (CHECKSUM, RECORDED_STATE, DESIRED_FILES, REPO_ROOT)  # what --out adds to the plan document


def checksum(data: dict) -> str:
    """The saved plan's checksum: of everything in it but the checksum itself (reconciler.fingerprint)."""
    return document_checksum(data, CHECKSUM)


def saved_plan(document: dict, recorded_state: dict, desired_files: list[str] | None = None,
               repo_root: str | None = None) -> dict:
    """The document to write with --out: the plan, the recorded state and their checksum.

    A partial plan (`--changed-since`, or customer files named) also lists the files it was
    made from, so that apply checks those files, and not the rest of the repo, for changes.
    `repo_root` lets apply, run elsewhere, find the repo the plan belongs to.
    """
    data = {**document, RECORDED_STATE: recorded_state}
    if repo_root is not None:
        data[REPO_ROOT] = repo_root
    if desired_files is not None:
        data[DESIRED_FILES] = desired_files
    return {**data, CHECKSUM: checksum(data)}


def customers_read(files: Iterable[CustomerFile], current: Snapshot) -> set[str]:
    """The portal customers a plan of `files` reads: theirs, the holders of their pinned serials and PBX names."""
    files = list(files)
    wanted = {file.customer for file in files}
    names = {name for file in files for name in file.pbxes}
    serials = {serial for file in files for pbx in file.pbxes.values() for serial in pbx.pinned}
    for cid, customer in current.customers.items():
        if names & set(customer.pbxes) or any(device.serial in serials for pbx in customer.pbxes.values()
                                               for device in pbx.devices):
            wanted.add(cid)
    return wanted & set(current.customers)


def only(state: Snapshot, customers: Iterable[str] | None) -> Snapshot:
    """`state` with only these customers (None: all of them); the partner, stock and catalog whole."""
    if customers is None:
        return state
    keep = set(customers)
    return state.model_copy(update={"customers": {cid: c for cid, c in state.customers.items() if cid in keep}})


def recorded_customers(saved: dict) -> set[str] | None:
    """The customers a partial saved plan recorded; None for a whole-repo plan (it records the whole portal)."""
    state = saved.get(RECORDED_STATE)
    if saved.get(DESIRED_FILES) is None or not isinstance(state, dict) or not isinstance(state.get("customers"), dict):
        return None
    return set(state["customers"])


def plan_document(saved: dict) -> dict:
    """The plan document inside a saved plan: what `plan --format json` printed, without what --out added."""
    return {key: value for key, value in saved.items() if key not in SAVED_ONLY}
