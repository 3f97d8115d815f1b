"""The plan: its model (reconciler.plan.model), the pure planner (reconciler.plan.planner) and their parts.

The package itself imports nothing, so that a rule module can import the plan's model and
context without importing the planner that imports the rules (no cycle to hide).
"""
