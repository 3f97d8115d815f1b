"""Property: after apply on the sandbox, planning again finds nothing to do (convergence).

Random desired and current states (the planner property's strategy, on a date when nothing
is blocked or manual) are loaded into a sandbox; the apply engine carries out the plan
against it, the sandbox enforcing the portal's rules on its own; then the portal is read
back and planned again. Only desired states that `validate` accepts are drawn (a partner's
plan starts from validated files), and a plan with errors is not applied (apply refuses
it), so such draws are set aside.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings

from reconciler.apply.engine import apply_plan
from reconciler.plan.planner import plan
from reconciler.providers.sandbox import SandboxProvider
from reconciler.repo import CustomerSource, check_unique_ids
from reconciler.rules.validation import check_customer
from reconciler.yamlio import Positions
from tests.conftest import examples
from tests.test_plan_property import TODAY, scenes


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_after_apply_on_the_sandbox_planning_again_finds_nothing(scene):
    files, snapshot, policy = scene
    sources = [CustomerSource(f.customer, f, Positions(f.customer)) for f in files]
    assume(not check_unique_ids(sources) and not any(check_customer(s.model, s.positions) for s in sources))
    first = plan(files, snapshot, TODAY, policy)
    assume(not first.has_errors)
    with tempfile.TemporaryDirectory() as scratch:
        sandbox = SandboxProvider(Path(scratch) / "sandbox.db")
        sandbox.load(snapshot)
        result = apply_plan(first.model_dump(mode="json"), sandbox, TODAY, Path(scratch) / "journal",
                            run_token="property")
        assert result.ok, [(o.step.action.value, o.step.address, o.reason) for o in result.outcomes
                           if o.outcome == "failed"]
        again = plan(files, sandbox.read(TODAY), TODAY, policy)
    assert again.steps == [], again.model_dump(mode="json")["steps"]
