"""A one-customer `plan --state` imports only what planning needs: start-up is most of its time.

Checked with `python -X importtime` on a real run: none of apply, the backends' stores, the HTTP API
and client, PostgreSQL, the HTML report's templates, ruamel.yaml or deepdiff is imported.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import example_dirs

NOT_ON_THE_PLAN_PATH = ("reconciler.apply", "reconciler.backends.local", "reconciler.backends.postgres",
                        "reconciler.backends.history", "reconciler.api", "reconciler.render.html",
                        "httpx", "psycopg", "jinja2", "ruamel", "deepdiff", "fastapi", "starlette", "uvicorn")


def test_plan_from_a_snapshot_imports_nothing_it_does_not_need():
    example = next(p for p in example_dirs() if p.name == "new-cloud-customer")
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "reconciler", "plan", str(example),
                          "--state", str(example / "state.yaml"), "--today", "2026-11-30"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 2), run.stderr
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", run.stderr, re.MULTILINE)
    assert "reconciler.plan.planner" in imported  # the measurement saw the run
    unwanted = sorted(m for m in imported if m.startswith(NOT_ON_THE_PLAN_PATH))
    assert unwanted == []
