"""The saved plan (`plan --out`): the plan document, the state it was made from, and a checksum.

apply refuses a saved plan that was altered (the checksum), made against another
state (`stale-plan`: the recorded state lets it say what changed, field by field) or
on another date (`plan-date-bound`). The checksum covers everything but itself.
"""

from __future__ import annotations

import hashlib
import json

CHECKSUM = "checksum"
RECORDED_STATE = "recorded_state"
DESIRED_FILES = "desired_files"  # a partial plan's files: the desired fingerprint covers only these
REPO_ROOT = "repo_root"  # the repo the plan belongs to, relative to the plan file's folder
SAVED_ONLY = (CHECKSUM, RECORDED_STATE, DESIRED_FILES, REPO_ROOT)  # what --out adds to the plan document


def canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum(data: dict) -> str:
    body = {key: value for key, value in data.items() if key != CHECKSUM}
    return "sha256:" + hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


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


def plan_document(saved: dict) -> dict:
    """The plan document inside a saved plan: what `plan --format json` printed, without what --out added."""
    return {key: value for key, value in saved.items() if key not in SAVED_ONLY}
