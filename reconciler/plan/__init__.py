"""The plan: its model (Action, Status, Step, Plan), the pure planner (reconciler.plan.planner) and its parts.

Only the model is imported here: the rule families (reconciler.rules) import the model and the
rule contract, and the planner imports the rules, so the package itself must not import the planner.
"""

from reconciler.plan.model import Action, Plan, PlanDiagnostic, Status, Step, Summary

__all__ = ["Action", "Plan", "PlanDiagnostic", "Status", "Step", "Summary"]
