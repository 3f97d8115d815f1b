"""What a rule sees and what it may answer: the contract between the planner and the rule families.

A rule is a small function with an id (`@rule("no-decrease-last-day", Stage.GATE)`, the
registry is reconciler.rules.registry) that looks at one customer's candidate steps and
returns findings:

- `Verdict`: a status for a step (blocked with a date, or manual with an instruction), or
  with no status just the rule's id added to the step's `rules`;
- `Edge`: "this step needs that one" (ordering rules);
- `Diagnostic`: an error, warning or info for the plan.

Stages run in this order: GATE (statuses), then ORDER (edges: an ORDER rule may read the
status GATE gave, e.g. a blocked return does not hold back a removal), then, once blocked
steps have passed their status on to the steps that depend on them, NOTE (diagnostics that
print D, the date a step runs). PLAN rules see the whole ordered plan (stock, unmanaged
customers). VALIDATE rules run before all of these, on each customer file alone
(reconciler.rules.validation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, Union

from reconciler.config import Policy
from reconciler.desired import CustomerFile, DesiredPbx
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.plan.model import Action, Status, Step, run_date
from reconciler.snapshot import CurrentCustomer, CurrentPbx, Device, Snapshot


@dataclass(frozen=True)
class Verdict:
    step: int
    rule: str
    status: Status | None = None  # None: only tag the step with the rule
    not_before: dt.date | None = None
    instruction: str | None = None


@dataclass(frozen=True)
class Edge:
    step: int
    needs: int
    rule: str | None = None  # tagged on the dependent step when given


Finding = Union[Verdict, Edge, Diagnostic]


class Located(NamedTuple):
    """Where a device sits in the portal (a named tuple: the planner makes one per device of the portal)."""

    customer: str
    pbx: str
    device: Device
    current: CurrentPbx

    @property
    def address(self) -> str:
        return f"{self.customer}/{self.pbx}"


@dataclass(frozen=True)
class PbxView:
    """One PBX of the customer: its portal state, its desired state, its candidate steps in order."""

    name: str
    current: CurrentPbx | None
    desired: DesiredPbx | None  # None: absent from the file (or pruned): decommissioned
    steps: tuple[Step, ...]

    def of(self, *actions: Action) -> list[Step]:
        return [s for s in self.steps if s.action in actions]

    def first(self, action: Action) -> Step | None:
        found = self.of(action)
        return found[0] if found else None

    @property
    def term_after(self) -> str | None:
        return self.desired.term if self.desired else (self.current.term if self.current else None)

    def licenses_after(self) -> int:
        return self.desired.licenses.total() if self.desired else 0


@dataclass(frozen=True)
class PlanSteps:
    """Every customer's steps at one stage, indexed once for the rules that look past their customer."""

    by_pbx: dict[tuple[str, str], tuple[Step, ...]] = field(default_factory=dict)  # (customer, pbx) -> steps, in order
    by_source: dict[str, tuple[Step, ...]] = field(default_factory=dict)  # "customer/pbx" -> transfers from it

    @classmethod
    def of(cls, steps: Iterable[Step]) -> PlanSteps:
        by_pbx: dict[tuple[str, str], list[Step]] = {}
        by_source: dict[str, list[Step]] = {}
        for step in steps:
            by_pbx.setdefault((step.customer, step.pbx), []).append(step)
            if step.action is Action.TRANSFER_HWAAS:
                by_source.setdefault(step.changes.source, []).append(step)
        return cls({key: tuple(found) for key, found in by_pbx.items()},
                   {key: tuple(found) for key, found in by_source.items()})

    def on(self, customer: str, pbx: str) -> tuple[Step, ...]:
        """The steps on one PBX of any customer, in the stage's order."""
        return self.by_pbx.get((customer, pbx), ())

    def leaving(self, address: str) -> tuple[Step, ...]:
        """The transfers that take devices from the PBX at `address` ("customer/pbx"), in the stage's order."""
        return self.by_source.get(address, ())


@dataclass(frozen=True)
class CustomerContext:
    """One customer's candidate steps and everything the rules may read to judge them."""

    customer: str
    current: CurrentCustomer | None
    desired: CustomerFile | None
    steps: tuple[Step, ...]
    pbxes: tuple[PbxView, ...]
    today: dt.date
    policy: Policy
    snapshot: Snapshot
    devices: dict[str, Located]
    catalog: frozenset[str] | None = None
    plan_steps: PlanSteps = field(default_factory=PlanSteps)  # every customer's: a transfer's source is another's
    pbx_holders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # PBX name -> portal customers holding it
    portal_today: dt.date | None = None  # the date on the portal's own clock (portal.timezone); None: today

    def date_of(self, step: Step) -> dt.date | None:
        """D: the date a step runs: today, its not_before when blocked, None while blocked without a date."""
        return run_date(step, self.today)

    def where(self, pbx: str | None = None) -> dict:
        return {"customer": self.customer, "pbx": pbx}


@dataclass(frozen=True)
class PlanContext:
    """The whole plan, ordered: for rules that count across customers."""

    steps: tuple[Step, ...]
    snapshot: Snapshot
    desired_ids: frozenset[str]
    policy: Policy
    complete: bool
    today: dt.date
    portal_ids: frozenset[str] | None = None  # the portal's customers (None: the snapshot's, which may hold only some)

    @property
    def portal_customers(self) -> frozenset[str] | set[str]:
        return self.portal_ids if self.portal_ids is not None else set(self.snapshot.customers)


def info(rule: str, message: str, **where) -> Diagnostic:
    return Diagnostic(Severity.INFO, rule, message, **where)


def warning(rule: str, message: str, **where) -> Diagnostic:
    return Diagnostic(Severity.WARNING, rule, message, **where)


def error(rule: str, message: str, **where) -> Diagnostic:
    return Diagnostic(Severity.ERROR, rule, message, **where)


def license_totals(view: PbxView) -> Iterator[tuple[Step, int]]:
    """Walk the PBX's license steps in order: each with the PBX's license total after it."""
    counts = dict(view.current.licenses.counts()) if view.current else {}
    for step in view.steps:
        if step.action in (Action.ADD_LICENSES, Action.REMOVE_LICENSES):
            for profile, (_, after) in step.changes.moves().items():
                counts[profile] = after
            yield step, sum(counts.values())


def term_change_start(steps: Iterable[Step]) -> Step | None:
    """The first step of a PBX's term change (FORMAT.md: through zero): its removal, or the change itself."""
    steps = list(steps)
    change = next((s for s in steps if s.action is Action.CHANGE_TERM), None)
    if change is None:
        return None
    return next((s for s in steps if s.action is Action.REMOVE_LICENSES), change)
