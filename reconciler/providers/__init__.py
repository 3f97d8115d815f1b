"""Providers: the only places that talk to a portal (or a file standing for one).

A provider reads the current state as a `Snapshot`. One that can carry out changes
(`Executor`) does so one step at a time; apply drives it, and the provider enforces
the portal's own rules whatever the planner decided.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from reconciler.diagnostics import ReconcilerError
from reconciler.plan.model import Step
from reconciler.snapshot import Snapshot


class StepRefused(ReconcilerError):
    """The portal refused a step (a rule it enforces, or state that is not what the step expects)."""


class Provider(Protocol):
    name: str

    def read(self, today: dt.date) -> Snapshot:
        """The portal's current state on `today`; raises ReconcilerError (with diagnostics) when it cannot."""
        ...


@runtime_checkable
class Executor(Protocol):
    name: str

    @property
    def target(self) -> str:
        """What apply locks and journals: the portal this provider changes (e.g. the sandbox file's path)."""
        ...

    def read(self, today: dt.date) -> Snapshot: ...

    def execute(self, step: Step, today: dt.date, token: str) -> None:
        """Carry out one step on `today`, exactly once per `token`.

        A token already carried out is a no-op (a re-run after a crash changes nothing);
        a refused step raises StepRefused with the portal's reason, and changes nothing.
        """
        ...
