"""The embedded sandbox portal: a local, SQLite-backed emulation of the partner portal.

It exists so that `reconciler plan` and `reconciler apply` can be tried end to end
without a real portal: it holds customers, PBXs, licenses and devices, moves its own
clock (deletion schedule, renewals) and enforces the portal's rules on every step,
whatever the planner decided. `reconciler.providers.sandbox.SandboxProvider` is its face.

- catalog: what the sandbox sells out of the box, and how it numbers serials;
- store: the SQLite file (schema, transactions, snapshot in and out);
- clock: what the portal does on its own as days pass;
- portal: lookups and shared checks while a step is judged, and the refusal's wording;
- accounts, devices: the operations, one per plan action, with the rules that refuse them;
- operations: which operation an action is, and the entry point for one step.
"""
