"""Every planner rule of RULES.md has a unit with its id, and the rule families import on their own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.plan.model import Action
from reconciler.plan.planner import rules_of
from reconciler.rules.registry import Stage

PLANNER_RULES = {
    # Licenses and terms
    "no-decrease-last-day", "term-change-through-zero", "add-before-remove", "renewal-window", "no-refund",
    "deletion-guard", "cloud-deletion-schedule", "deletion-revert",
    # PBXs and customers
    "customer-before-pbx", "hardware-pbx-purchase", "activation-report-window", "model-change-manual",
    "region-change-manual", "storage-increase-only", "unmanaged-customer", "snapshot-age",
    "pbx-name-taken",  # not in RULES.md: a PBX name is its domain, unique in the portal
    # HWaaS devices
    "hwaas-follows-pbx-term", "hwaas-agreement", "hwaas-minimum-term", "commitment-return-manual",
    "return-oldest-first", "convert-preconditions", "conversion-effects", "transfer-conditions", "negative-stock",
    "overdue-blocks-hardware", "hwaas-unmanaged", "decommission-returns-hwaas",
    "pinned-within-count", "transfer-effects",
    # Validation, judged again with the catalog the planner is given, and in the order of the plan's steps
    "known-product", "hwaas-needs-subscription", "one-licensed-pbx-per-customer",
}


def test_every_rule_has_a_unit_with_its_id():
    registered = {unit.rule_id for stage in Stage if stage is not Stage.VALIDATE for unit in rules_of(stage)}
    assert registered == PLANNER_RULES


def test_the_eleven_actions_of_the_format():
    assert [a.value for a in Action] == [
        "create-customer", "purchase-hardware-pbx", "create-pbx", "add-licenses", "remove-licenses", "change-term",
        "set-options", "order-hwaas", "convert-to-hwaas", "transfer-hwaas", "return-hwaas"]


@pytest.mark.parametrize("module", ["reconciler.rules.licenses", "reconciler.rules.pbx", "reconciler.rules.hwaas",
                                    "reconciler.rules.transfers", "reconciler.rules.validation", "reconciler.plan"])
def test_modules_import_on_their_own(module):
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def test_every_unit_is_named_after_its_id():
    from reconciler.rules.registry import REGISTRY

    for stage in Stage:
        for unit in REGISTRY.of(stage):
            name = unit.rule_id.replace("-", "_")
            assert unit.__name__ == name or unit.__name__.startswith(name + "_"), (unit.rule_id, unit.__name__)


def test_the_registry_refuses_a_unit_not_named_after_its_id():
    from reconciler.rules.registry import Registry

    def devices_after_term_change(ctx):  # the old name of a unit of hwaas-follows-pbx-term
        return ()

    with pytest.raises(ValueError, match="name it hwaas_follows_pbx_term"):
        Registry().rule("hwaas-follows-pbx-term", Stage.ORDER)(devices_after_term_change)


def test_validation_is_a_stage_of_the_one_registry():
    """known-product is a unit of the registry like every other (it used to be called beside it)."""
    from reconciler.rules import validation
    from reconciler.rules.registry import REGISTRY

    assert validation.known_product in REGISTRY.of(Stage.VALIDATE)
    assert list(Stage) == [Stage.VALIDATE, Stage.GATE, Stage.ORDER, Stage.NOTE, Stage.PLAN]
