"""reconciler: infrastructure as code for Wildix partners.

Desired state of each customer (PBXs, per-user licenses, HWaaS devices) lives in YAML
in a Git repo; reconciler diffs it against the partner portal, applies the portal's
rules and prints an ordered change plan.
"""

__version__ = "0.1.0"
