"""Prove a saved plan may still be applied, before apply touches anything.

A saved plan is a promise about one moment: these files, this portal state, this date.
apply keeps it only if all three still hold (Terraform refuses a stale plan the same way;
RULES.md `stale-plan`, `plan-date-bound`), and only if the file is the one the planner
wrote (its checksum). When the portal moved, the refusal says what moved, field by
field, from the state recorded in the plan to the state read now, so the user can
judge whether to plan again or to find out who changed the portal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

from reconciler.diagnostics import ReconcilerError
from reconciler.fingerprint import canonical, fingerprint_state
from reconciler.plan.model import FORMAT_VERSION
from reconciler.plan.saved import CHECKSUM, RECORDED_STATE, checksum
from reconciler.snapshot import Snapshot

MAX_LINES = 20
MAX_VALUE = 60


class PlanRejected(ReconcilerError):
    """A saved plan apply must not carry out; `rule` is the RULES.md id where there is one."""

    rule: str | None = None


class PlanAltered(PlanRejected):
    pass


class PlanFormatUnknown(PlanRejected):
    pass


class PlanDateBound(PlanRejected):
    rule = "plan-date-bound"


class StalePlan(PlanRejected):
    """The portal changed since the plan; `changes` holds every change line (uncapped)."""

    rule = "stale-plan"

    def __init__(self, message: str, changes: list[str] | None = None):
        super().__init__(message)
        self.changes = changes or []


class DesiredChanged(StalePlan):
    pass


def verify_saved_plan(saved: dict, *, current: Snapshot, current_fingerprint: str, desired_fingerprint: str,
                      today: dt.date, also_accept: frozenset[str] | set[str] = frozenset()) -> None:
    """Raise a PlanRejected unless `saved` may be applied now.

    Checked in order: altered, format_version, plan-date-bound, desired files, current state.
    `also_accept`: other current-state fingerprints that count as not stale (resuming an
    unfinished run of this very plan, see `resume_fingerprints`).
    """
    if not isinstance(saved, dict) or not saved.get(CHECKSUM):
        raise PlanAltered("the plan file was altered since it was saved (it has no checksum); plan again")
    if saved[CHECKSUM] != checksum(saved):
        raise PlanAltered("the plan file was altered since it was saved (its checksum does not match); plan again")
    version = saved.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFormatUnknown(f"the plan file has format_version {version!r}, which this reconciler does not "
                                f"read (it reads {FORMAT_VERSION!r}); plan again with this version")
    fingerprints = saved.get("fingerprints")
    if not isinstance(fingerprints, dict) or not isinstance(saved.get("steps"), list):
        raise PlanFormatUnknown("the plan file has no fingerprints or steps: it is not a plan saved by "
                                "`reconciler plan --out`; plan again")
    made_for = str(saved.get("today"))
    if made_for != today.isoformat():
        raise PlanDateBound(f"the plan was made for {made_for}, today is {today.isoformat()}: "
                            "calendar rules may judge differently; plan again")
    if fingerprints.get("desired") != desired_fingerprint:
        raise DesiredChanged("the plan is stale: the desired-state files changed since it was made; plan again")
    if fingerprints.get("current") != current_fingerprint and current_fingerprint not in also_accept:
        lines = state_changes(saved.get(RECORDED_STATE), current.model_dump(mode="json"))
        raise StalePlan("the plan is stale: the portal changed since it was made; plan again."
                        + "".join(f"\n  {line}" for line in capped(lines)), lines)


def capped(lines: list[str], limit: int = MAX_LINES) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"... and {len(lines) - limit} more"]


def state_changes(recorded: dict | None, current: dict) -> list[str]:
    """What changed from `recorded` to `current` (snapshots as JSON), one readable line each, sorted.

    `acme/acme: licenses.essential 30 -> 28`, `acme/acme: devices: 9C7514000009 added`,
    `globex: customer added`, `acme/old: PBX removed`, `stock: MonoLED 0 -> 4`.
    """
    if not isinstance(recorded, dict):
        return ["(the plan file records no state to compare with)"]
    from deepdiff import DeepDiff  # lazily: only a refused apply pays its import

    diff = DeepDiff(_keyed(recorded), _keyed(current), exclude_paths=["root['as_of']"], view="tree",
                    threshold_to_diff_deeper=0)  # always itemize, however much of a mapping changed
    found: list[tuple[tuple, str]] = []
    for kind, levels in diff.items():
        for level in levels:
            path = level.path(output_format="list")
            line = _line(kind, path, level.t1, level.t2)
            found.append(((line.split(": ", 1)[0], _sort_key(path)), line))  # by customer/PBX, then field
    lines = [line for _, line in sorted(found)]
    if not lines and recorded.get("as_of") != current.get("as_of"):
        lines = [f"as_of {recorded.get('as_of')} -> {current.get('as_of')}"]
    return lines or ["(no difference outside as_of)"]


def _keyed(state: dict) -> dict:
    """The snapshot with each PBX's device list keyed by serial, so a new device is one change, not a shift."""
    data = json.loads(json.dumps(state))
    for customer in (data.get("customers") or {}).values():
        for pbx in (customer.get("pbxes") or {}).values():
            if isinstance(pbx.get("devices"), list):
                pbx["devices"] = {d.get("serial"): {k: v for k, v in d.items() if k != "serial"}
                                  for d in pbx["devices"] if isinstance(d, dict)}
    return data


def _line(kind: str, path: list, before, after) -> str:
    if path[:1] == ["customers"] and len(path) >= 2:
        subject, rest = str(path[1]), path[2:]
        if not rest:
            return f"{subject}: customer {_verb(kind)}"
        if rest[0] == "pbxes" and len(rest) >= 2:
            subject, rest = f"{subject}/{rest[1]}", rest[2:]
            if not rest:
                return f"{subject}: PBX {_verb(kind)}"
            if rest[0] == "devices" and len(rest) >= 2:
                subject, rest = f"{subject}: devices: {rest[1]}", rest[2:]
                if not rest:
                    return f"{subject} {_verb(kind)}"
                return f"{subject} {_change(kind, rest, before, after)}"
        return f"{subject}: {_change(kind, rest, before, after)}"
    if len(path) <= 1:
        return f"{path[0] if path else 'state'}: {_change(kind, [], before, after)}"
    return f"{path[0]}: {_change(kind, path[1:], before, after)}"


def _verb(kind: str) -> str:
    return "added" if kind.endswith("_added") else "removed" if kind.endswith("_removed") else "changed"


def _change(kind: str, rest: list, before, after) -> str:
    field = _dotted(rest)
    verb = _verb(kind)
    if verb == "added":
        return f"{field} added ({_value(after)})".lstrip()
    if verb == "removed":
        return f"{field} removed (was {_value(before)})".lstrip()
    return f"{field} {_value(before)} -> {_value(after)}".lstrip()


def _dotted(rest: list) -> str:
    text = ""
    for key in rest:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _value(value) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = canonical(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def _sort_key(path: list) -> tuple:
    return tuple((0, key, "") if isinstance(key, int) else (1, 0, str(key)) for key in path)


def resume_fingerprints(saved: dict, run) -> set[str]:
    """Current-state fingerprints that prove an unfinished run of this plan left the portal as expected.

    `run` is journal.UnfinishedRun. The recorded state with the run's done steps applied
    (and each subset of its in-doubt steps) is simulated in memory; if the portal reads
    as one of these, re-running the same saved plan resumes it (done steps are no-ops
    by token). Empty when the run was of another plan.
    """
    if run is None or run.plan != saved.get(CHECKSUM) or not isinstance(saved.get(RECORDED_STATE), dict):
        return set()
    from reconciler.plan.model import parse_step
    from reconciler.sandbox.replay import replay

    recorded = Snapshot.model_validate(saved[RECORDED_STATE], strict=False)
    steps = [parse_step(s) for s in saved.get("steps", [])]
    doubt = [r.get("step") for r in run.in_doubt]
    accepted = set()
    for size in range(len(doubt) + 1):
        for extra in itertools.combinations(doubt, size):
            ids = set(run.done) | set(extra)
            accepted.add(fingerprint_state(replay(recorded, [s for s in steps if s.id in ids])))
    return accepted
