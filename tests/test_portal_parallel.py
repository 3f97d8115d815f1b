"""apply --parallelism: independent steps at once over HTTP, in an order that stays safe, with exact results."""

from __future__ import annotations

import json
import sys

from reconciler.apply.parallel import waits_for
from reconciler.plan.model import parse_step
from reconciler.workflow import PlanRequest, make_plan
from tests.conftest import ROOT
from tests.portal_support import READ_TOKEN, Server, as_writer, exported, http_repo, load_sandbox
from tests.test_apply_e2e import EXAMPLES, ready, reconciler

CUSTOMERS, LATENCY_MS = 30, 200


def test_a_transfer_waits_for_both_sides_and_a_customer_for_its_earlier_steps():
    document = make_plan(PlanRequest(paths=[str(EXAMPLES["capex-conversion-and-transfer"])],
                                     state=str(EXAMPLES["capex-conversion-and-transfer"] / "state.yaml"),
                                     today="2026-11-22")).document
    steps = [parse_step(s) for s in document["steps"]]
    after = waits_for(steps)
    transfer = next(s for s in steps if s.action.value == "transfer-hwaas")
    source = transfer.changes.source.split("/")[0]
    earlier = [s.id for s in steps if s.id < transfer.id and s.customer in (transfer.customer, source)]
    assert earlier and max(earlier) in after[transfer.id]
    for step in steps:
        same = [s.id for s in steps if s.id < step.id and s.customer == step.customer]
        assert not same or max(same) in after[step.id] or any(max(same) in after[d] for d in after[step.id])


def _generated(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import TODAY, generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    source = tmp_path / "generated"
    generate(CUSTOMERS, source, drift=1.0, kinds=("add",))  # one license increase per customer
    return source, TODAY


def test_independent_steps_run_at_once_and_the_results_are_exact(tmp_path):
    source, today = _generated(tmp_path)
    reference = tmp_path / "reference"
    (reference / "customers").mkdir(parents=True)
    load_sandbox(reference, source / "state.yaml")
    home = tmp_path / "portal"
    load_sandbox(home, source / "state.yaml")
    server = Server(home, "--latency-ms", str(LATENCY_MS)).start()
    try:
        repo = http_repo(tmp_path / "repo", "new-cloud-customer", server.url)
        for path in (repo / "customers").iterdir():
            path.unlink()
        for path in (source / "customers").iterdir():
            (repo / "customers" / path.name).write_bytes(path.read_bytes())
            (reference / "customers" / path.name).write_bytes(path.read_bytes())
        result = reconciler(repo, "apply", "--today", today, "--auto-approve", "--parallelism", "10",
                            env=as_writer())
        assert result.returncode == 0 and f"Apply complete: {CUSTOMERS} done." in result.stdout, result.stderr
        records = [json.loads(line) for line in next((repo / ".reconciler").glob("portal-*.journal")).open()]
        in_flight, most = 0, 0  # steps started and not yet done, as the journal records them
        for record in records:
            in_flight += {"step-start": 1, "step-done": -1}.get(record["type"], 0)
            most = max(most, in_flight)
        assert 1 < most <= 10  # at once, and never more than --parallelism
        for kind in ("step-start", "step-done"):
            assert sorted(r["step"] for r in records if r["type"] == kind) == list(range(1, CUSTOMERS + 1))
        reconciler(reference, "apply", "--today", today, "--auto-approve", check=True)
        assert exported(home, today) == exported(reference, today)
        assert ready(json.loads(reconciler(repo, "plan", "--today", today, "--format", "json",
                                           env=as_writer(READ_TOKEN)).stdout)) == []
    finally:
        server.stop()
