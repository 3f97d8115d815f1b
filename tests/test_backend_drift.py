"""History and drift on the local backend, end to end (the postgres side is in test_backend_postgres.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reconciler.backends.drift import GONE, drift
from tests.test_apply_e2e import reconciler, sandbox_repo


def test_drift_lists_the_fields_that_differ_devices_by_serial():
    last = {"acme": {"pbxes": {"acme": {"licenses": {"basic": 5, "premium": 1},
                                        "devices": [{"serial": "A1", "billing": "hwaas"}]}}},
            "gone": {"company": "Gone Ltd"}, "same": {"company": "Same"}}
    now = {"acme": {"pbxes": {"acme": {"licenses": {"basic": 7, "premium": 1},
                                       "devices": [{"serial": "A1", "billing": "capex"}, {"serial": "B2"}]}}},
           "same": {"company": "Same"}}
    assert drift(last, now) == [
        {"customer": "acme", "field": "pbxes.acme.devices[A1].billing", "last": "hwaas", "now": "capex"},
        {"customer": "acme", "field": "pbxes.acme.devices[B2].serial", "last": GONE, "now": "B2"},
        {"customer": "acme", "field": "pbxes.acme.licenses.basic", "last": 5, "now": 7},
        {"customer": "gone", "field": "company", "last": "Gone Ltd", "now": GONE}]


def change_outside(repo: Path, today: str, pattern: str, replacement: str) -> None:
    """Edit the sandbox as a person in the portal would: its state, one field changed, loaded back."""
    shown = reconciler(repo, "sandbox", "show", "--today", today, check=True).stdout
    edited = re.sub(pattern, replacement, shown, count=1)
    assert edited != shown
    (repo / "edited.yaml").write_text(edited)
    reconciler(repo, "sandbox", "load", "edited.yaml", check=True)


def assert_drift_reported(repo: Path, today: str, env: dict | None = None) -> None:
    before = reconciler(repo, "plan", "--today", today, env=env, check=True).stdout
    assert "outside reconciler" not in before  # right after apply: nothing drifted
    change_outside(repo, today, r"storage_gb: \d+", "storage_gb: 999")
    text = reconciler(repo, "plan", "--today", today, env=env, check=True).stdout
    assert "Changed in the portal outside reconciler since the last apply:\n" \
           "  ~ globex: pbxes.globex.storage_gb: 20 -> 999\n" in text
    document = json.loads(reconciler(repo, "plan", "--today", today, "--format", "json", env=env, check=True).stdout)
    assert document["drift"] == [{"customer": "globex", "field": "pbxes.globex.storage_gb", "last": 20, "now": 999}]
    markdown = reconciler(repo, "plan", "--today", today, "--format", "markdown", env=env, check=True).stdout
    assert "- globex: pbxes.globex.storage&#95;gb: 20 -> 999" in markdown  # escaped as user data: reads as `_`


def test_local_history_and_drift(tmp_path):
    repo, today = sandbox_repo(tmp_path, "term-change")
    assert "No applies in the local backend" in reconciler(repo, "history", check=True).stdout
    reconciler(repo, "apply", "--today", today, "--auto-approve", check=True)
    [entry] = json.loads(reconciler(repo, "history", "--format", "json", check=True).stdout)["applies"]
    assert (entry["customers"], entry["outcome"], entry["done"], entry["failed"], entry["skipped"]) == \
        (["globex"], "complete", 3, 0, 0)
    assert reconciler(repo, "history", "--since", "2999-01-01", check=True).stdout.startswith("No applies")
    assert_drift_reported(repo, today)
