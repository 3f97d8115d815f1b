"""The registry's units of a stage come family by family, and a unit registered later is never left out."""

from __future__ import annotations

from reconciler.rules.registry import FAMILIES, Registry, Stage


def _unit(name: str, family: str):
    def func(ctx):
        return []
    func.__name__, func.__module__ = name, f"reconciler.rules.{family}"
    return func


def test_units_sort_by_family_and_a_later_unit_joins_the_kept_order():
    registry = Registry()
    last, first = FAMILIES[-1], FAMILIES[0]
    registry.rule("b-rule", Stage.NOTE)(_unit("b_rule", last))
    registry.rule("a-rule", Stage.NOTE)(_unit("a_rule", first))
    assert [u.rule_id for u in registry.of(Stage.NOTE)] == ["a-rule", "b-rule"]
    registry.of(Stage.NOTE).clear()  # a caller's list is its own
    registry.rule("c-rule", Stage.NOTE)(_unit("c_rule", first))
    assert [u.rule_id for u in registry.of(Stage.NOTE)] == ["a-rule", "c-rule", "b-rule"]
    assert registry.of(Stage.GATE) == []
