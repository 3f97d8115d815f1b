"""Carry out independent steps at once (`apply --parallelism N`), in an order that stays safe.

Over the network most of a step's time is the round trip, so one partner's thousand
steps go about N times faster N at a time. What may not run at once is what the plan
ordered: a step waits for its `depends_on` and for the previous step of every customer
it touches (its own customer and, for a transfer, the customer the devices come from).
So a PBX's steps run in plan order, a customer is created before its PBX, and a transfer
starts only after both sides are ready; steps of different customers overlap.

The results are exact whatever the interleaving: outcomes are returned in plan order,
the journal records every step before and after it runs (one whole line at a time), and
the first failure starts nothing more (steps already running finish, and are reported).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reconciler.apply.hold import step_customers
from reconciler.plan.model import Step


def customers_of(step: Step) -> set[str]:
    return step_customers(step.action.value, step.customer, getattr(step.changes, "source", None))


def waits_for(steps: list[Step]) -> dict[int, set[int]]:
    """step id -> the ids of earlier steps it must wait for (to finish, whatever their outcome)."""
    last: dict[str, int] = {}
    after: dict[int, set[int]] = {}
    for step in steps:
        touched = customers_of(step)
        earlier = {d for d in step.depends_on if d in after}  # a saved plan's stray id cannot hold a step forever
        after[step.id] = earlier | {last[c] for c in touched if c in last}
        for customer in touched:
            last[customer] = step.id
    return after


def run_parallel(steps: list[Step], carry_out: Callable[[Step], object], why_not: Callable[..., object | None],
                 parallelism: int) -> list:
    """Each step's outcome (StepOutcome), in plan order; at most `parallelism` steps run at a time.

    `why_not(step, done, failed_at)` is the engine's reason a step is not carried out (blocked,
    manual, the run failed or was stopped, a prerequisite not done), or None to carry it out.
    """
    after = waits_for(steps)
    outcomes: dict[int, object] = {}
    done: set[int] = set()
    failed_at: int | None = None
    waiting = list(steps)
    running: dict[Future, Step] = {}
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
        while waiting or running:
            progressed = True
            while progressed:  # settle every step that can be decided now, start what may start
                progressed = False
                for step in list(waiting):
                    if not after[step.id] <= outcomes.keys() or len(running) >= parallelism:
                        continue
                    waiting.remove(step)
                    progressed = True
                    outcome = why_not(step, done, failed_at)
                    if outcome is not None:
                        outcomes[step.id] = outcome
                    else:
                        running[pool.submit(carry_out, step)] = step
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                outcome = future.result()  # a bug or Ctrl-C in a step propagates, as in order
                outcomes[step.id] = outcome
                if outcome.outcome == "failed":
                    failed_at = step.id if failed_at is None else failed_at
                else:
                    done.add(step.id)
    return [outcomes[step.id] for step in steps]
