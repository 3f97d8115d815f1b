"""Prove a saved plan is the planner's own before apply carries out a step of it.

A checksum proves only that whoever wrote the file also wrote its checksum: anyone can
recompute it. So apply also checks the file against the plan's JSON Schema (the one
`reconciler schema` publishes, generated from the model at run time, with jsonschema:
the reference validator, so a hand-edited step is refused as the published contract
says, not as a hand-written check happens to), and then plans again from what the file
says it was made from (its recorded portal state, the desired files and its date) and
refuses unless the steps come out identical, field by field. A plan edited to order
500 devices, to repeat an order or to touch a customer not in the repo is refused,
with the difference shown; a malformed step never reaches a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

from pydantic import ValidationError

from reconciler.apply.verify import MAX_LINES, PlanRejected, capped
from reconciler.fingerprint import canonical
from reconciler.plan.saved import RECORDED_STATE
from reconciler.snapshot import Snapshot


class PlanMalformed(PlanRejected):
    """The file is not a plan document as the schema defines it (or its recorded state is not a snapshot)."""


class PlanForged(PlanRejected):
    """Planning again from the file's own inputs gives other steps: the file was not written by the planner."""

    rule = "plan-mismatch"

    def __init__(self, message: str, differences: list[str]):
        super().__init__(message)
        self.differences = differences


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    from reconciler.plan.model import Plan
    from reconciler.schema import generate

    return Draft202012Validator(generate(Plan))


def check_schema(saved: dict) -> Snapshot:
    """Raise PlanMalformed unless `saved` is a plan document with a recorded state; returns that state."""
    errors = sorted(_validator().iter_errors(saved), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{_where(error.absolute_path)}: {error.message}" for error in errors]
        raise PlanMalformed("the plan file is not a plan document (plan.schema.json); plan again:"
                            + "".join(f"\n  {line}" for line in capped(lines, MAX_LINES)))
    try:
        return Snapshot.model_validate(saved.get(RECORDED_STATE), strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PlanMalformed(f"the plan file's recorded state is not a portal snapshot "
                            f"({_where(first['loc'])}: {first['msg']}); plan again") from None


def _where(path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "the document"


class RecordedState:
    """A read-only provider that holds the state a saved plan records, as the portal held it then."""

    name = "recorded"

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def read(self, today: dt.date) -> Snapshot:
        return self.snapshot


def step_differences(saved_steps: list[dict], planned_steps: list[dict]) -> list[str]:
    """What differs between the file's steps and the planner's, one line per field: `step 1: changes.quantity`."""
    from deepdiff import DeepDiff

    diff = DeepDiff(_canonical(planned_steps), _canonical(saved_steps), view="tree", threshold_to_diff_deeper=0)
    lines = []
    for kind, levels in diff.items():
        for level in levels:
            path = level.path(output_format="list")
            subject = f"step {path[0] + 1}" if path else "steps"
            field = _where(path[1:]) if len(path) > 1 else ""
            if kind.endswith("_added"):
                lines.append(f"{subject}: {field + ' ' if field else ''}is in the file, not in the planner's plan "
                             f"({_short(level.t2)})")
            elif kind.endswith("_removed"):
                lines.append(f"{subject}: {field + ' ' if field else ''}is in the planner's plan, not in the file "
                             f"({_short(level.t1)})")
            else:
                lines.append(f"{subject}: {field} is {_short(level.t2)} in the file, {_short(level.t1)} as planned")
    return sorted(lines, key=_step_order)


def _canonical(steps: list[dict]) -> list:
    return json.loads(canonical(steps))


def _short(value) -> str:
    text = canonical(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _step_order(line: str) -> tuple:
    head = line.split(":", 1)[0].removeprefix("step ")
    return (int(head) if head.isdigit() else 0, line)


def prove_steps(saved: dict, planned_steps: list[dict]) -> None:
    """Raise PlanForged unless the planner, given the file's own inputs, wrote exactly the file's steps."""
    differences = step_differences(saved.get("steps") or [], planned_steps)
    if differences:
        raise PlanForged("the plan file's steps are not what the planner makes from its recorded state, the "
                         "desired files and its date: it was edited by hand; nothing was applied, plan again "
                         "[plan-mismatch]:"
                         + "".join(f"\n  {line}" for line in capped(differences)), differences)
