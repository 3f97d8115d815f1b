"""apply: carry out a plan against a provider, the way Terraform's apply does (STYLE.md practice 9).

- `lock`: one apply per portal at a time (`<target>.lock`), who/when/what, stale locks reported.
- `journal`: a durable line per step start/end (`<target>.journal`); an unfinished run is detected.
- `verify`: a saved plan is refused when altered, of an unknown format, made for another
  date, or stale (desired files or portal changed: the portal's changes listed field by field).
- `proof`: a saved plan is the schema's and the planner's own (planned again from its inputs).
- `engine`: ready steps in plan order, once per token, stopping at the first failure.
- `run`: the saved-plan apply in one call (lock, read, verify, apply); `command`: the CLI's edge.

The package imports none of them, so that the backends (which use `lock` and `journal`)
and `run` (which uses the backends) import each other's modules without a cycle.
"""
