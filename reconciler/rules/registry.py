"""The one rule registry: every unit of RULES.md, registered under the id it implements, by stage.

A unit is a small function named after its id (`no_decrease_last_day` for
`no-decrease-last-day`; a second unit of one id adds what it judges: `transfer_conditions_order`).
Stages, in the order they run:

- VALIDATE: one customer file alone (its model, the positions of its keys, the catalog the
  loader knows), before any portal is asked; it yields diagnostics at the key concerned;
- GATE: statuses of the candidate steps (blocked with a date, manual with an instruction);
- ORDER: dependencies between steps (an ORDER rule may read a GATE status: a blocked return
  does not hold back the removal it would precede);
- NOTE: diagnostics that print D, the date a step runs, once blocked steps have passed their
  status on to the steps that need them;
- PLAN: the whole ordered plan (stock, unmanaged customers, the snapshot's age).

The families (reconciler.rules.validation, licenses, pbx, hwaas, transfers) register into
`REGISTRY` when imported; `reconciler.rules` imports them all, so the registry is complete
whenever the package is imported. Nothing here imports the planner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

Rule = Callable[..., Iterable]

# The families in the order their units run within a stage (a step's instructions are joined in this order).
FAMILIES = ("validation", "licenses", "pbx", "hwaas", "transfers")


class Stage(str, Enum):
    VALIDATE = "validate"
    GATE = "gate"
    ORDER = "order"
    NOTE = "note"
    PLAN = "plan"


@dataclass
class Registry:
    """The rule units by stage, in the order they were declared."""

    by_stage: dict[Stage, list[Rule]] = field(default_factory=lambda: {stage: [] for stage in Stage})
    _sorted: dict[Stage, tuple[int, list[Rule]]] = field(default_factory=dict, repr=False)  # stage -> (units, sorted)

    def rule(self, rule_id: str, stage: Stage, needs_steps: bool = False) -> Callable[[Rule], Rule]:
        """Register a unit of `rule_id`: its function is named after the id (`no_decrease_last_day`), or after
        the id and what this unit of it judges (`transfer_conditions_lifetime`).

        `needs_steps`: every finding of the unit is about one of the customer's candidate steps, so it finds
        nothing for a customer the diff gives none, and the planner does not ask it about one (most customers
        of a large repo have nothing to change). Left False, the unit judges every customer.
        """
        def register(func: Rule) -> Rule:
            name = rule_id.replace("-", "_")
            if func.__name__ != name and not func.__name__.startswith(name + "_"):
                raise ValueError(f"the unit of {rule_id} is named {func.__name__}: name it {name}[_what]")
            func.rule_id = rule_id
            func.stage = stage
            func.needs_steps = needs_steps
            self.by_stage[stage].append(func)
            return func
        return register

    def of(self, stage: Stage) -> list[Rule]:
        """The units of `stage`: family by family (FAMILIES), each family's in the order they were declared.

        Sorted once per stage and kept (validation asks once per customer file) until a unit registers.
        """
        def family(func: Rule) -> int:
            name = func.__module__.rpartition(".")[2]
            return FAMILIES.index(name) if name in FAMILIES else len(FAMILIES)
        units = self.by_stage[stage]
        kept = self._sorted.get(stage)
        if kept is None or kept[0] != len(units):
            kept = self._sorted[stage] = (len(units), sorted(units, key=family))
        return list(kept[1])

    def ids(self, *stages: Stage) -> set[str]:
        return {func.rule_id for stage in (stages or tuple(Stage)) for func in self.by_stage[stage]}


REGISTRY = Registry()
rule = REGISTRY.rule
