"""Builders shared by the apply tests (this module holds no tests).

`FakePortal` is an in-memory Executor built on `apply_steps`: it records every call and
token, carries out a token once only, can be told to refuse step N, and can keep its
state in a JSON file so that a crashed subprocess leaves what it did behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from reconciler.plan.model import Plan, Status, Step, parse_step
from reconciler.plan.saved import saved_plan
from tests.simulate import apply_steps
from reconciler.providers import StepRefused
from reconciler.snapshot import Snapshot
from reconciler.workflow import fingerprint_state
from tests.test_plan_support import TODAY, snapshot

ROOT = Path(__file__).resolve().parent.parent
DESIRED = "sha256:desired-files"


class FakePortal:
    name = "fake"

    def __init__(self, state: Snapshot, target: str | Path, refuse: dict[int, str] | None = None,
                 state_file: str | Path | None = None):
        self.snapshot = state
        self._target = str(target)
        self.refuse = refuse or {}
        self.state_file = Path(state_file) if state_file else None
        self.calls: list[tuple[int, str]] = []  # every execute call: (step id, token)
        self.executions: Counter[str] = Counter()  # token -> times it changed the portal
        self.executed: list[int] = []  # step ids that changed the portal, in order
        if self.state_file and self.state_file.exists():
            data = json.loads(self.state_file.read_text())
            self.snapshot = Snapshot.model_validate(data["snapshot"], strict=False)
            self.executions = Counter(data["executions"])
            self.executed = data["executed"]

    @property
    def target(self) -> str:
        return self._target

    def read(self, today: dt.date) -> Snapshot:
        return self.snapshot

    def execute(self, step: Step, today: dt.date, token: str) -> bool:
        self.calls.append((step.id, token))
        if self.executions[token]:
            return False
        if step.id in self.refuse:
            raise StepRefused(self.refuse[step.id])
        self.snapshot = apply_steps(self.snapshot, [step.model_copy(update={"depends_on": []})])
        self.executions[token] += 1
        self.executed.append(step.id)
        if self.state_file:
            self.state_file.write_text(json.dumps({"snapshot": self.snapshot.model_dump(mode="json"),
                                                   "executions": dict(self.executions),
                                                   "executed": self.executed}))
        return True


def step(id: int, action: str, changes: dict, status: str = "ready", customer: str = "acme",
         pbx: str | None = "acme", **extra) -> dict:
    data = {"id": id, "customer": customer, "pbx": pbx, "action": action, "changes": changes, "status": status,
            **extra}
    return parse_step(data).model_dump(mode="json")


def mixed_steps() -> list[dict]:
    """Six steps on the default acme/acme: ready, blocked, one waiting on the blocked one, manual, ready, ready."""
    return [
        step(1, "add-licenses", {"licenses.essential": [30, 32]}),
        step(2, "change-term", {"term": ["1y", "1m"]}, "blocked", not_before="2026-12-01",
             instruction="a term change waits for the last day of the month"),
        step(3, "add-licenses", {"licenses.basic": [10, 12]}, depends_on=[2]),
        step(4, "set-options", {"region": ["eu-central", "us-east"]}, "manual",
             instruction="ask Customer Care to move the PBX to region us-east"),
        step(5, "remove-licenses", {"licenses.premium": [5, 3]}),
        step(6, "set-options", {"storage_gb": [50, 60]}),
    ]


def document(steps: list[dict], current: Snapshot | None = None, today: dt.date = TODAY) -> dict:
    """A saved plan (checksum, recorded state, fingerprints) with these steps."""
    current = current or snapshot()
    doc = Plan(tool_version="test", today=today, steps=[parse_step(s) for s in steps]).model_dump(mode="json")
    doc["fingerprints"] = {"desired": DESIRED, "current": fingerprint_state(current)}
    return saved_plan(doc, current.model_dump(mode="json"))


def run_python(code: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60, **kwargs)


__all__ = ["FakePortal", "step", "mixed_steps", "document", "run_python", "DESIRED", "TODAY", "Status",
           "snapshot", "ROOT"]
