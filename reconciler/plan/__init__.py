"""The plan: its model (Action, Status, Step, Plan), the pure planner and an in-memory apply.

`plan` and `apply_steps` are imported lazily, so that the rule modules (which import the
plan's model and context) can be imported on their own without a cycle.
"""

from reconciler.plan.model import Action, Plan, PlanDiagnostic, Status, Step, Summary

__all__ = ["Action", "Plan", "PlanDiagnostic", "Status", "Step", "Summary", "plan", "apply_steps"]


def __getattr__(name: str):
    if name == "plan":
        from reconciler.plan.planner import plan
        return plan
    if name == "apply_steps":
        from reconciler.plan.simulate import apply_steps
        return apply_steps
    raise AttributeError(name)
