"""A warm re-plan: what the planner derived for each customer, kept between runs, so that a re-plan of a big
repo after one file changed plans that customer again and takes the others' parts from the cache.

An optimisation only: the plan is the one a cold run makes, byte for byte. It rests on what the
planner's first stages (`planner.derive`) read of a customer: its file, its entry in the portal's
state, the date, the policy and the catalog, the portal's partner, stock and catalog, and of the
other customers only

- who holds, in the portal, a PBX name the customer's file names (`pbx-name-taken`): part of the key;
- devices: a pin names a serial that may sit on another customer's PBX (a transfer: then both
  customers' steps and rules read each other's). A customer that pins a serial of another
  customer, pins one another customer pins too, or holds one another pins, is planned afresh on
  every run (with the others it is tangled with). A serial is on one device only: the snapshot's
  reader refuses a state with a serial twice (`providers.snapshot.check_snapshot`), and only a
  valid snapshot is cached, so a warm plan never meets one.

So a customer's part (its steps in plan order with provisional ids, its diagnostics, placed) is
kept under the SHA-256 of all of that: the file's bytes, the text of its entry in the cached
snapshot, the holders of its PBX names, and the run's context (the date, the portal's date, the
policy, the catalog, the snapshot without its customers, and the source of the planner and its
rules). The parts are put back in the build order and sorted once more (`regather`), and the
planner's last stages (PLAN rules, numbers, expected counts, prices, the summary) run on the whole
plan as in a cold run (`planner.finish`). Damage to a part costs time: a part that cannot be read
is planned again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path

import orjson

from reconciler import forked
from reconciler.cache import Cache, compact
from reconciler.config import Policy
from reconciler.current import PortalState
from reconciler.diagnostics import Diagnostic, Position
from reconciler.plan.context import Edge
from reconciler.plan.model import Plan, Step, parse_step
from reconciler.plan.order import sort_steps
from reconciler.plan.planner import assemble, deletion_clock_first, derive, finish, in_plan_order, placed
from reconciler.source import CachedSource, CustomerSource, pins_of
from reconciler.snapshot import Snapshot

KIND = "plan"
FORMAT = 1
# the source a kept part may depend on: the planner and its rules, and everything that reads what they read (the
# package's own modules, the providers, pricing); not the commands, renderers, apply, backends or the sandbox
_SOURCES = ("", "plan/", "rules/", "providers/", "pricing/")

Locate = Callable[[str, str | None], Position | None]
Make = Callable[[list[str]], dict[str, tuple[list[Step], list[Diagnostic]]] | None]  # customers -> their parts


def plan_warm(sources: Iterable[CustomerSource], hashes: Mapping[str, str], state: PortalState, cache: Cache,
              today: dt.date, policy: Policy, books: set[str] | None,
              catalog_of: Callable[[Snapshot], set[str] | None], timezone: str, price_book,
              portal_today: dt.date | None, locate: Locate, fingerprints: dict[str, str], workers: int = 1
              ) -> Plan | None:
    """The plan of the whole repo (`sources`, each file's `hashes`) against `state`, the unchanged customers'
    parts taken from `cache`; None when the state is not a cached snapshot's.

    The catalog is `catalog_of(current)`, made of the price book's products (`books`) or the portal's catalog;
    no drift (the caller asks for none, or knows it is none without reading the state). `workers` above 1: when
    many customers are planned afresh, a forked helper plans some of them (`_Helper`). Customers planned apart
    are planned CHUNK at a time, so a cold plan of a big repo never binds the whole portal at once."""
    cached = state.cached_text()
    if cached is None or cache.directory is None:
        return None
    head, text, spans = cached
    files = {source.customer: source for source in sources}
    portal = frozenset(spans)
    pruned = portal - files.keys() if policy.prune else set()
    scope = sorted(files.keys() | pruned)
    context = _context(head, today, portal_today, policy, books)

    dirty = set(pruned) | _tangled(files, state)  # planned together, here: never by the helper
    keys: dict[str, str] = {}
    parts: dict[str, tuple[list[Step], list[Diagnostic]]] = {}
    holders = state.pbxes
    for customer in scope:
        if customer in dirty:
            continue
        source = files[customer]
        span = spans.get(customer)
        taken = [f"{name}\0{others}" for name in source.pbxes  # most names: held by this customer alone, or none
                 if (who := holders.get(name)) and (len(who) > 1 or who[0] != customer)
                 and (others := [cid for cid in who if cid != customer])]
        key = hashlib.sha256(context)
        material = "\0\0".join((source.path, hashes.get(source.path, ""), repr(taken), ""))
        key.update(material.encode("utf-8", "surrogatepass"))
        key.update(text[span[0]:span[1]].encode("utf-8", "surrogatepass") if span else b"-")  # the entry, not joined
        keys[customer] = key.hexdigest()
    values = cache.get_many(KIND, list(keys.values()))  # one pass over the pack: a warm plan asks every key
    for customer, key in keys.items():
        part = _decoded(values.get(key))
        if part is None:
            dirty.add(customer)
        else:
            parts[customer] = part

    planned = sorted(dirty)
    busy = {customer for customer, (steps, _) in parts.items() if steps}

    plan = partial(_planned, files=files, state=state, today=today, policy=policy, catalog_of=catalog_of,
                   portal_today=portal_today, locate=locate)

    def here(customers: list[str]) -> tuple[Snapshot, list[Step], list[Diagnostic]]:
        """Plan these customers in this process, keeping each one's part: (the state they read, steps, found)."""
        current, steps, found, fresh = plan(customers, busy)
        for customer in customers if fresh is not None else ():
            if customer in keys:
                cache.put(KIND, keys[customer], _encoded(*fresh[customer]))
        return current, steps, found

    make = partial(_in_chunks, plan=lambda customers: plan(customers, set())[3])
    helper = _Helper.start([customer for customer in planned if customer in keys], workers, make)
    try:
        mine = [customer for customer in planned if customer not in helper.customers]
        alone = [customer for customer in mine if customer in keys]
        made = make(alone)
        if made is None:  # they cannot be planned apart from each other: together, as before
            current, steps, found = here(mine)
            made = {}
        else:
            current, steps, found = here([customer for customer in mine if customer not in keys])
        shared = helper.parts()
    finally:
        helper.stop()
    if shared is None:  # the helper's customers cannot be planned apart: all of them here, as without a helper
        current, steps, found = here(planned)
        made = shared = {}
    shared = {**shared, **_with_text(made)}
    for customer, (part, value) in shared.items():
        parts[customer] = part
        cache.put(KIND, keys[customer], value)
    current = _joined(current, state, {customer for customer, (part, _) in shared.items() if part[0]}, spans)
    cache.save()  # every part is put: the pack's values leave memory before the plan is finished
    diagnostics = [d for customer in scope if customer in parts for d in parts[customer][1]]
    kept = {customer: part[0] for customer, part in parts.items()}
    del shared, made, parts  # the parts' steps are only `kept`'s now: regather's copies take their place
    steps = regather(scope, kept, steps, current)
    del kept
    steps, last, costs = finish(steps, [], current, today, policy, True, price_book, frozenset(files), portal)
    diagnostics += found + placed(list(dict.fromkeys(last)), locate)
    return assemble(steps, in_plan_order(diagnostics), costs, today, timezone, fingerprints)


# Customers planned apart (each with a key) are planned this many at a time: only their portal entries are bound, and
# only while they are planned (a part keeps its steps; the customers with steps are bound again to finish the plan).
CHUNK = 500


def _with_text(made: Mapping[str, tuple[list[Step], list[Diagnostic]]]
               ) -> dict[str, tuple[tuple[list[Step], list[Diagnostic]], str]]:
    """Each part with the text the cache keeps of it."""
    return {customer: (part, _encoded(*part)) for customer, part in made.items()}


def _in_chunks(customers: list[str], plan: Make) -> dict[str, tuple[list[Step], list[Diagnostic]]] | None:
    """Each customer's part, `plan` made CHUNK customers at a time; None when a chunk cannot be planned apart."""
    made: dict[str, tuple[list[Step], list[Diagnostic]]] = {}
    for start in range(0, len(customers), CHUNK):
        chunk = plan(customers[start:start + CHUNK])
        if chunk is None:
            return None
        made.update(chunk)
    return made


# A cold plan of a big repo plans every customer afresh: past this many parts to make, a forked helper makes every
# second one while this process makes the others. Measured on 2 cores (cold plans, median wall, paired): 1.01x the
# time without a helper at 1,000 customers (the fork and the parts' JSON eat the gain), 0.95x at 3,000, 0.92x at
# 10,000, where this process's peak memory also falls from 168 to 151 MiB (it binds half the portal's customers).
HELPER_MIN = 2000


class _Helper:
    """Parts made by a forked copy of this process (reconciler.forked) while this one plans the other customers.

    A part is what the cache keeps of a customer (its steps, provisional ids, and diagnostics), and a
    customer's part depends only on what its key covers (see the module's docstring), so a part the
    helper made from a subset of the state is the one this process would make, as a kept part is. The
    helper takes only customers that have a key (not pruned, not tangled with another); when it gives
    nothing usable, this process makes those parts itself, as if there were no helper.
    """

    def __init__(self, customers: list[str], make: Make | None = None):
        self.customers = frozenset(customers)
        self._list, self._make, self._child = customers, make, None

    @classmethod
    def start(cls, eligible: list[str], workers: int, make: Make) -> _Helper:
        """A helper making every second part of `eligible` with `make` (customers -> their parts, or None), when
        the run may use two processes and there are enough of them; else one that makes none."""
        if workers < 2 or len(eligible) < HELPER_MIN:
            return cls([])
        helper = cls(eligible[1::2], make)
        helper._child = forked.Child(helper._work)
        return helper

    def _work(self) -> bytes:
        made = self._make(self._list)
        texts = {customer: _encoded(*made[customer]) for customer in self._list} if made is not None else None
        return compact(texts).encode("utf-8")

    def parts(self) -> dict[str, tuple[tuple[list[Step], list[Diagnostic]], str]] | None:
        """Each helper customer's part and its cache text: the helper's, else made here now; None when they cannot
        be planned apart from the others (a diagnostic that names none of them: `_split`)."""
        if not self.customers:
            return {}
        child, self._child = self._child, None
        data = child.result() if child is not None else None
        if data is not None:
            try:
                texts = orjson.loads(data)
                if texts is None:
                    return None
                found = {customer: (_decoded(texts[customer]), texts[customer]) for customer in self._list}
                if all(part is not None for part, _ in found.values()):
                    return found
            except (ValueError, TypeError, KeyError):  # not the parts: as if the helper had failed
                pass
        made = self._make(self._list)  # the helper failed (or there was none): made here
        if made is None:
            return None
        return _with_text({customer: made[customer] for customer in self._list})

    def stop(self) -> None:
        """End a helper whose parts are no longer wanted (an error while this process planned)."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()


def _planned(customers: list[str], busy: set[str], files: Mapping[str, CustomerSource], state: PortalState,
             today: dt.date, policy: Policy, catalog_of: Callable[[Snapshot], set[str] | None],
             portal_today: dt.date | None, locate: Locate
             ) -> tuple[Snapshot, list[Step], list[Diagnostic], dict[str, tuple[list[Step], list[Diagnostic]]] | None]:
    """These customers planned (`busy`: customers bound beside them, whose kept steps the plan holds): the state
    they read, their steps, what was found (placed), and each one's part, or None (`_split`)."""
    current = state.subset(set(customers) | busy)
    desired = {customer: files[customer].model for customer in customers if customer in files}
    steps, found = derive(desired, current, today, policy, catalog_of(current), customers, portal_today, state.pbxes)
    found = placed(list(dict.fromkeys(found)), locate)
    return current, steps, found, _split(steps, found, customers)


def _joined(current: Snapshot, state: PortalState, more: set[str], order: Iterable[str]) -> Snapshot:
    """`current` with the customers of `more` it lacks bound from `state`, in the snapshot's order (`order`)."""
    more = more - current.customers.keys()
    if not more:
        return current
    bound = state.subset(more).customers
    customers = current.customers
    return current.model_copy(update={"customers": {cid: customers[cid] if cid in customers else bound[cid]
                                                    for cid in order if cid in customers or cid in bound}})


def regather(scope: list[str], kept: Mapping[str, list[Step]], planned: list[Step], current: Snapshot
             ) -> list[Step]:
    """The plan's steps in the order a cold run gives them: the `kept` parts (customer -> its steps) and this
    run's `planned` steps put back in build order (customers of `scope` in order, each one's steps by their
    provisional ids) with ids of the whole plan, then sorted as the planner sorts.

    The sort is a stable topological sort over the build order, and a customer's dependencies stay within
    it (or within its tangled group, planned together this run), so each customer's own order is kept."""
    fresh: dict[str, list[Step]] = defaultdict(list)
    for step in planned:
        fresh[step.customer].append(step)
    ids: dict[tuple[str | None, int], int] = {}  # (the part a step comes from, None: this run) and its id -> new id
    listed: list[tuple[str | None, Step]] = []
    for customer in scope:
        space = customer if customer in kept else None
        mine = kept[customer] if space is not None else fresh.get(customer)
        if not mine:  # most customers: nothing to put back
            continue
        for step in sorted(mine, key=_id):
            ids[(space, step.id)] = len(listed) + 1
            listed.append((space, step))
    steps = [step.model_copy(update={"id": ids[(space, step.id)],
                                     "depends_on": [ids[(space, need)] for need in step.depends_on]})
             for space, step in listed]
    edges = [Edge(step.id, need) for step in steps for need in step.depends_on]
    return sort_steps(deletion_clock_first(steps, current), edges)


def _id(step: Step) -> int:
    return step.id


def _tangled(files: Mapping[str, CustomerSource], state: PortalState) -> set[str]:
    """The customers whose steps read another customer's: a pin of a serial another holds or pins too (who holds
    the portal's devices is asked only when a file pins one)."""
    pinners: dict[str, list[str]] = defaultdict(list)
    for customer, source in files.items():
        for serial in source.pins if isinstance(source, CachedSource) else pins_of(source.model):
            pinners[serial].append(customer)
    holders = state.serials if pinners else {}
    tangled: set[str] = set()
    for serial, who in pinners.items():
        holder = holders.get(serial)
        if len(who) > 1 or (holder is not None and holder != who[0]):
            tangled.update(who)
            if holder is not None:
                tangled.add(holder)
    return tangled


def _split(steps: list[Step], found: list[Diagnostic], planned: list[str]
           ) -> dict[str, tuple[list[Step], list[Diagnostic]]] | None:
    """This run's steps and diagnostics by customer; None when a diagnostic names no planned customer (then
    nothing of this run is kept: a part must hold everything its customer's planning found)."""
    mine: dict[str, tuple[list[Step], list[Diagnostic]]] = {customer: ([], []) for customer in planned}
    for step in steps:
        mine[step.customer][0].append(step)
    for diagnostic in found:
        if diagnostic.customer not in mine:
            return None
        mine[diagnostic.customer][1].append(diagnostic)
    return mine


_NOTHING = "-"  # the part of a customer with no step and no diagnostic (most of them): not JSON, no decoding


def _encoded(steps: list[Step], diagnostics: list[Diagnostic]) -> str:
    if not steps and not diagnostics:
        return _NOTHING
    return compact({"steps": [step.model_dump(mode="json") for step in steps],
                    "diagnostics": [d.row() for d in diagnostics]})


def _decoded(value: str | None) -> tuple[list[Step], list[Diagnostic]] | None:
    """A kept part, or None when there is none or it is not one (then its customer is planned again)."""
    if value is None:
        return None
    if value == _NOTHING:
        return [], []
    try:
        data = orjson.loads(value)
        steps = [parse_step(step) for step in data["steps"]]
        diagnostics = [Diagnostic.from_row(row) for row in data["diagnostics"]]
    except (ValueError, TypeError, KeyError):  # pydantic's ValidationError is a ValueError
        return None
    return steps, diagnostics


def _context(head: str, today: dt.date, portal_today: dt.date | None, policy: Policy,
             books: set[str] | None) -> bytes:
    """What every customer's part depends on: the run's dates, policy and catalog, the portal's state without its
    customers, and the source of the code that plans."""
    digest = hashlib.sha256(f"warm {FORMAT}\0{today}\0{portal_today}\0{policy.model_dump_json()}\0"
                            f"{sorted(books) if books is not None else None}\0".encode())
    digest.update(head.encode("utf-8", "surrogatepass"))
    here = Path(__file__).parent
    for name in _SOURCES:
        try:
            for file in sorted((here / name).glob("*.py")):
                digest.update(f"{name}{file.name}".encode() + b"\0" + file.read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.digest()
