"""How the planner turns rule findings into statuses and an order, decided once, here.

- `apply_verdicts`: a step's status from its verdicts: blocked beats manual beats ready;
  blocked until the latest date, or with no date if any verdict has none.
- `merge_devices`: device candidates (one per returned device) that got the same verdict
  are one step again.
- `structural_edges`: dependencies that follow from the diff itself, not from a portal rule.
- `sort_steps`: a stable topological sort: build order (customers by id, PBXs by name,
  products by name) unless a dependency says otherwise.
- `propagate_blocked`: a step that needs a blocked step is blocked too, with its date.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict

from reconciler.plan.context import Edge, Verdict
from reconciler.plan.model import Action, Status, Step

_ACQUIRE = (Action.CONVERT_TO_HWAAS, Action.TRANSFER_HWAAS)
_SETTLE = (Action.ORDER_HWAAS, Action.RETURN_HWAAS)


def _latest(dates: list[dt.date | None]) -> dt.date | None:
    """The date from which every blocker allows the step; None if one of them gives no date."""
    return None if any(d is None for d in dates) else max(dates)


def _join(texts) -> str | None:
    unique = list(dict.fromkeys(t for t in texts if t))
    return "; ".join(unique) or None


def apply_verdicts(steps: list[Step], verdicts: list[Verdict], decide: bool) -> list[Step]:
    """Tag steps with the verdicts' rule ids; with `decide`, also set their status."""
    by_step: dict[int, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        by_step[verdict.step].append(verdict)
    result = []
    for step in steps:
        found = by_step.get(step.id, [])
        rules = sorted(set(step.rules) | {v.rule for v in found})
        if not found and rules == step.rules:  # most steps: nothing to tag, the step as it is (frozen: no copy)
            result.append(step)
            continue
        update: dict = {"rules": rules}
        blocked = [v for v in found if v.status is Status.BLOCKED]
        manual = [v for v in found if v.status is Status.MANUAL]
        if decide and blocked:
            update |= {"status": Status.BLOCKED, "not_before": _latest([v.not_before for v in blocked]),
                       "instruction": _join(v.instruction for v in blocked)}
        elif decide and manual:
            update |= {"status": Status.MANUAL, "instruction": _join(v.instruction for v in manual)}
        result.append(step.model_copy(update=update))
    return result


def merge_devices(steps: list[Step]) -> list[Step]:
    """Returns of one product on one PBX with the same status, date and reasons become one step."""
    groups: dict[tuple, int] = {}  # verdict -> position in result
    result: list[Step] = []
    for step in steps:
        if step.action is not Action.RETURN_HWAAS:
            result.append(step)
            continue
        key = (step.customer, step.pbx, step.changes.product, step.status, step.not_before,
               step.instruction, tuple(step.rules))
        if key not in groups:
            groups[key] = len(result)
            result.append(step)
            continue
        first = result[groups[key]]
        serials = sorted(first.changes.serials + step.changes.serials)
        merged = first.changes.model_copy(update={"quantity": len(serials), "serials": serials})
        result[groups[key]] = first.model_copy(update={"changes": merged})
    return result


def structural_edges(steps: list[Step]) -> list[Edge]:
    """A new PBX's steps need create-pbx; options need a model/region move; orders and returns of
    a product come after its conversions and transfers (FORMAT.md section 2)."""
    by_pbx: dict[tuple, list[Step]] = defaultdict(list)
    for step in steps:
        if step.pbx is not None:
            by_pbx[(step.customer, step.pbx)].append(step)
    edges: list[Edge] = []
    for group in by_pbx.values():
        create = next((s for s in group if s.action is Action.CREATE_PBX), None)
        if create:
            edges += [Edge(s.id, create.id) for s in group
                      if s.action not in (Action.CREATE_PBX, Action.PURCHASE_HARDWARE_PBX)]
        options = [s for s in group if s.action is Action.SET_OPTIONS]
        moves = [s for s in options if s.changes.moves_pbx]
        edges += [Edge(s.id, m.id) for s in options if s not in moves for m in moves]
        for first in (s for s in group if s.action in _ACQUIRE):
            edges += [Edge(s.id, first.id) for s in group
                      if s.action in _SETTLE and s.changes.product == first.changes.product]
    return edges


def sort_steps(steps: list[Step], edges: list[Edge]) -> list[Step]:
    """Stable topological sort over the build order; sets depends_on (provisional ids)."""
    position = {step.id: index for index, step in enumerate(steps)}
    needs: dict[int, set[int]] = defaultdict(set)
    for edge in edges:
        if edge.step in position and edge.needs in position and edge.step != edge.needs:
            needs[edge.step].add(edge.needs)
    waiting = {step.id: len(needs[step.id]) for step in steps}
    unlocks: dict[int, list[int]] = defaultdict(list)
    for step_id, required in needs.items():
        for other in required:
            unlocks[other].append(step_id)
    ready = [position[i] for i, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[Step] = []
    while ready:
        step = steps[heapq.heappop(ready)]
        depends_on = sorted(needs[step.id])
        ordered.append(step if step.depends_on == depends_on else step.model_copy(update={"depends_on": depends_on}))
        for other in unlocks[step.id]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, position[other])
    if len(ordered) != len(steps):  # a cycle: a bug in the rules, never silently dropped
        raise AssertionError("the plan's dependencies form a cycle")
    return ordered


def propagate_blocked(steps: list[Step], blocking_rules: set[str]) -> list[Step]:
    """In plan order: a step needing a blocked step is blocked too, until the same date.

    Its instruction names the step it waits for and the original reason (not a chain of waits).
    """
    done: dict[int, Step] = {}
    reasons: dict[int, str | None] = {}  # why a blocked step waits, at the root of its chain
    result = []
    for step in steps:
        reasons[step.id] = step.instruction if step.status is Status.BLOCKED else None
        blockers = [done[d] for d in step.depends_on if done[d].status is Status.BLOCKED]
        if blockers:
            dates = [b.not_before for b in blockers]
            if step.status is Status.BLOCKED:
                dates.append(step.not_before)
            inherited = {rule for b in blockers for rule in b.rules if rule in blocking_rules}
            root = _join(reasons[b.id] for b in blockers)
            waits = _join(f"waits for {b.action.value} on {b.address}" for b in blockers)
            reasons[step.id] = _join([reasons[step.id], root])
            step = step.model_copy(update={
                "status": Status.BLOCKED, "not_before": _latest(dates),
                "rules": sorted(set(step.rules) | inherited),
                "instruction": _join([step.instruction, waits + (f": {root}" if root else "")]),
            })
        done[step.id] = step
        result.append(step)
    return result
