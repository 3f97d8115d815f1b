"""The pure planner: desired state + current state + today + policy -> an ordered Plan.

No I/O and no clock: the same inputs always give the same plan, byte for byte. The
pipeline, in order:

1. diff customer by customer, PBX by PBX (customers by id, PBXs by name): candidate steps;
2. GATE rules decide statuses (blocked with a date, manual with an instruction);
3. device candidates with the same verdict are merged;
4. ORDER rules and the diff's own structure give dependencies; a stable topological sort
   fixes the order, and blocked steps block the steps that need them;
5. NOTE and PLAN rules add diagnostics (they print D, the date a step runs);
6. steps are numbered 1..n in that order;
7. with a price book, each step is priced and the summary gets the cost totals;
8. the finished document: the caller's scope notes first, then the rules' diagnostics, each
   placed at the file and line of the customer or PBX it speaks of (`locate`, the loader's
   positions), the summary counted once, the fingerprints and drift the caller gives.

What it returns is the plan document itself: `plan(...).model_dump(mode="json")` is what
renderers read and `Plan.model_validate` reads back unchanged; nobody edits it afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from reconciler import __version__
from reconciler.config import Policy
from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, Position
from reconciler.plan.build import StepFactory, build_customer
from reconciler.plan.context import CustomerContext, Edge, Located, PbxView, PlanContext, PlanSteps, Verdict
from reconciler.plan.devices import claim_pins, locate_devices
from reconciler.plan.expect import with_expected_counts
from reconciler.plan.model import CostSummary, Plan, Status, Step, summarize
from reconciler.plan.order import apply_verdicts, merge_devices, propagate_blocked, sort_steps, structural_edges
from reconciler.rules import hwaas, licenses, pbx, transfers  # noqa: F401  (they register their rules)
from reconciler.rules.registry import REGISTRY, Stage
from reconciler.snapshot import Snapshot

if TYPE_CHECKING:
    from reconciler.pricing.book import PriceBook

Locate = Callable[[str, str | None], Position | None]  # (customer, pbx) -> where the desired file says it
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def rules_of(stage: Stage) -> list:
    return REGISTRY.of(stage)


def plan(desired: list[CustomerFile], current: Snapshot, today: dt.date, policy: Policy,
         catalog: set[str] | None = None, timezone: str = "UTC", complete: bool = True,
         price_book: PriceBook | None = None, portal_today: dt.date | None = None, *,
         notes: Sequence[Diagnostic] = (), fingerprints: dict[str, str] | None = None,
         locate: Locate | None = None, drift: list[dict] | None = None) -> Plan:
    """Plan every customer of `desired` against `current` as judged on `today` (in `timezone`): the finished plan.

    `portal_today`: the date on the portal's own clock at the same moment (portal.timezone), for the
    rules the portal enforces itself; None: the same as `today`.
    `complete`: `desired` is the whole repo, so a portal customer absent from it is
    unmanaged (or, with policy.prune, decommissioned). A partial run leaves them out.
    `price_book`: when given, every step gets its cost and the summary the totals.
    `notes`: the caller's diagnostics about what the plan covers (scope), first in the document.
    `fingerprints`: what apply checks for a stale plan (reconciler.fingerprint), recorded as given.
    `locate`: where a customer (pbx None) or a PBX is written in the desired files, for the
    diagnostics that name one but no position; `drift`: the portal's changes since the last apply.
    """
    steps, found, costs = _plan(desired, current, today, policy, catalog, timezone, complete, price_book,
                                portal_today)
    return assemble(steps, [*notes, *placed(in_plan_order(found), locate)], costs, today, timezone, fingerprints,
                    drift)


def assemble(steps: list[Step], diagnostics: list[Diagnostic], costs: CostSummary | None, today: dt.date,
             timezone: str, fingerprints: dict[str, str] | None = None, drift: list[dict] | None = None) -> Plan:
    """8. the finished document of numbered steps and the diagnostics in their final order: the summary counted."""
    return Plan(tool_version=__version__, today=today, timezone=timezone,
                summary=summarize(steps, diagnostics, costs), diagnostics=diagnostics, steps=steps,
                fingerprints=fingerprints or {}, drift=drift or None)


def _plan(desired: list[CustomerFile], current: Snapshot, today: dt.date, policy: Policy,
          catalog: set[str] | None, timezone: str, complete: bool, price_book: PriceBook | None,
          portal_today: dt.date | None = None) -> tuple[list[Step], list[Diagnostic], CostSummary | None]:
    files: dict[str, CustomerFile] = {}
    for file in desired:
        files.setdefault(file.customer, file)
    pruned = set(current.customers) - set(files) if complete and policy.prune else set()
    steps, diagnostics = derive(files, current, today, policy, catalog, sorted(set(files) | pruned), portal_today)
    return finish(steps, diagnostics, current, today, policy, complete, price_book, frozenset(files),
                  frozenset(current.customers))


def derive(files: dict[str, CustomerFile], current: Snapshot, today: dt.date, policy: Policy,
           catalog: set[str] | None, scope: list[str], portal_today: dt.date | None = None,
           holders: dict[str, tuple[str, ...]] | None = None) -> tuple[list[Step], list[Diagnostic]]:
    """1-5 for the customers of `scope` (sorted ids): their steps in plan order with provisional ids, statuses,
    dependencies and the verdicts of every stage but PLAN, and the diagnostics found so far.

    What a customer gets here depends on the others only through transfers (pins, a device's source), the
    portal's holders of PBX names (`holders`: the whole portal's, when `current` holds only some customers)
    and serials the portal has twice; `reconciler.warm` relies on it to keep a customer's part between runs.
    """
    located = locate_devices(current)
    claims, diagnostics = claim_pins(files.values(), located)
    factory = StepFactory()
    for customer in scope:
        build_customer(factory, customer, files.get(customer), current.customers.get(customer), claims, located)
    world = _World(files, current, today, policy, located, frozenset(catalog) if catalog else None, scope,
                   portal_today, holders)

    found = world.run(Stage.GATE, factory.steps)
    gates = [f for f in found if isinstance(f, Verdict)]
    diagnostics += [f for f in found if isinstance(f, Diagnostic)]
    steps = merge_devices(apply_verdicts(factory.steps, gates, decide=True))

    found = world.run(Stage.ORDER, steps)
    diagnostics += [f for f in found if isinstance(f, Diagnostic)]
    edges = structural_edges(steps) + [f for f in found if isinstance(f, Edge)]
    tags = [f for f in found if isinstance(f, Verdict)]
    tags += [Verdict(e.step, e.rule) for e in edges if e.rule]
    steps = sort_steps(apply_verdicts(deletion_clock_first(steps, current), tags, decide=False), edges)
    steps = propagate_blocked(steps, {v.rule for v in gates if v.status is Status.BLOCKED})

    found = world.run(Stage.NOTE, steps)
    steps = apply_verdicts(steps, [f for f in found if isinstance(f, Verdict)], decide=False)
    diagnostics += [f for f in found if isinstance(f, Diagnostic)]
    return steps, diagnostics


def finish(steps: list[Step], diagnostics: list[Diagnostic], current: Snapshot, today: dt.date, policy: Policy,
           complete: bool, price_book: PriceBook | None, desired_ids: frozenset[str], portal_ids: frozenset[str]
           ) -> tuple[list[Step], list[Diagnostic], CostSummary | None]:
    """5-7 on the ordered steps of `derive`: the PLAN rules, numbers, expected counts and prices.

    `current` needs only the customers the steps are on (and the partner, stock and catalog);
    `portal_ids`: every customer of the portal (an unmanaged one is one of them)."""
    ctx = PlanContext(tuple(steps), current, desired_ids, policy, complete, today, portal_ids)
    found = [finding for rule in rules_of(Stage.PLAN) for finding in rule(ctx)]
    steps = apply_verdicts(steps, [f for f in found if isinstance(f, Verdict)], decide=False)
    diagnostics = diagnostics + [f for f in found if isinstance(f, Diagnostic)]

    steps = with_expected_counts(_numbered(steps), current)
    costs = None
    if price_book is not None:
        steps, costs, found = _priced(steps, current, today, price_book)
        diagnostics += found
    return steps, diagnostics, costs


def _priced(steps: list[Step], current: Snapshot, today: dt.date, book: PriceBook):
    """7. each numbered step gets its cost; the summary the totals and the renewals (reconciler.pricing)."""
    from reconciler.pricing.costs import price_plan  # only with a price book: start-up does not pay for it
    from reconciler.pricing.totals import cost_summary

    priced = price_plan(steps, current, today, book)
    return priced.steps, cost_summary(priced.steps, book.currency, priced.renewals), priced.diagnostics


def pbx_holders(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """PBX name -> the customers holding it in the portal, in the snapshot's order: built once per plan."""
    index: dict[str, list[str]] = defaultdict(list)
    for cid, customer in snapshot.customers.items():
        for name in customer.pbxes:
            index[name].append(cid)
    return {name: tuple(holders) for name, holders in index.items()}


class _World:
    """The inputs every rule context is made of; builds one context per customer and stage."""

    def __init__(self, files, snapshot: Snapshot, today, policy, located: dict[str, Located], catalog, scope,
                 portal_today: dt.date | None = None, holders: dict[str, tuple[str, ...]] | None = None):
        self.files, self.snapshot, self.today, self.policy = files, snapshot, today, policy
        self.portal_today = portal_today
        self.located, self.catalog, self.scope = located, catalog, scope
        self.pbx_holders = holders if holders is not None else pbx_holders(snapshot)
        self._names: dict[str, tuple[str, ...]] = {}  # customer -> its PBXs' names, sorted: the same every stage

    def context(self, customer: str, steps: list[Step], everyone: PlanSteps | None = None) -> CustomerContext:
        desired = self.files.get(customer)
        current = self.snapshot.customers.get(customer)
        wanted = desired.pbxes if desired else {}
        present = current.pbxes if current else {}
        names = self._names.get(customer)
        if names is None:
            names = self._names[customer] = tuple(sorted(set(wanted) | set(present)))
        by_pbx: dict[str, list[Step]] = defaultdict(list)
        for step in steps:
            if step.pbx is not None:
                by_pbx[step.pbx].append(step)
        views = tuple(PbxView(name, present.get(name), wanted.get(name), tuple(by_pbx[name])) for name in names)
        return CustomerContext(customer, current, desired, tuple(steps), views, self.today, self.policy,
                               self.snapshot, self.located, self.catalog, everyone or PlanSteps(), self.pbx_holders,
                               self.portal_today)

    def run(self, stage: Stage, steps: list[Step]) -> list:
        by_customer: dict[str, list[Step]] = defaultdict(list)
        for step in steps:
            by_customer[step.customer].append(step)
        rules = rules_of(stage)
        idle = [rule for rule in rules if not rule.needs_steps]  # what a customer with no candidate step is asked
        found = []
        everyone = PlanSteps.of(steps)
        for customer in self.scope:
            mine = by_customer.get(customer)
            asked = rules if mine else idle
            if asked:
                ctx = self.context(customer, mine or [], everyone)
                for rule in asked:
                    found.extend(rule(ctx))
        return found


def deletion_clock_first(steps: list[Step], current: Snapshot) -> list[Step]:
    """Steps on a PBX the portal is stopping or deleting come first, before anything else.

    A term change interrupted after "remove every license" leaves the PBX on the deletion
    clock; the next plan finishes its chain before any other change (`deletion-revert`).
    """
    def on_clock(step: Step) -> bool:
        customer = current.customers.get(step.customer)
        pbx = customer.pbxes.get(step.pbx) if customer is not None and step.pbx else None
        return pbx is not None and pbx.status != "active"

    return sorted(steps, key=lambda step: not on_clock(step))  # stable: the build order otherwise


def _numbered(steps: list[Step]) -> list[Step]:
    """The steps with their positions as ids (a step already numbered so, as it is: frozen, no copy)."""
    ids = {step.id: index for index, step in enumerate(steps, start=1)}
    numbered = []
    for step in steps:
        depends_on = sorted(ids[d] for d in step.depends_on)
        numbered.append(step if ids[step.id] == step.id and depends_on == step.depends_on
                        else step.model_copy(update={"id": ids[step.id], "depends_on": depends_on}))
    return numbered


def in_plan_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The rules' diagnostics once each, by customer, PBX, severity, rule and message."""
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=lambda d: (d.customer or "", d.pbx or "", SEVERITY_ORDER[d.severity.value], d.rule,
                                         d.message))


def placed(diagnostics: list[Diagnostic], locate: Locate | None) -> list[Diagnostic]:
    """Each diagnostic that names a customer but no file gets the position `locate` gives its customer or PBX."""
    if locate is None:
        return diagnostics
    placed = []
    for d in diagnostics:
        where = locate(d.customer, d.pbx) if d.customer and not d.file else None
        if where is not None:
            d = Diagnostic(d.severity, d.rule, d.message, where.file, where.line, where.column, d.customer, d.pbx)
        placed.append(d)
    return placed
