"""The rule catalog of RULES.md: one small unit per rule id, grouped by family."""
