"""The rule catalog of RULES.md: one small unit per rule id, grouped by family, in one registry.

Each family registers its units into `reconciler.rules.registry.REGISTRY` when imported:
validation (a customer file alone), licenses and terms, PBXs and customers, HWaaS devices,
transfers. The planner imports the families it runs; the loader imports validation alone,
so checking a file does not pay for the planner's rules.
"""
