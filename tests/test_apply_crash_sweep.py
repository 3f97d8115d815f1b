"""The crash sweep: a plan of 100+ mixed steps, killed after every step, applied again until it converges.

License changes, term changes through zero, orders, returns and transfers, on a real
sandbox file. The kill is injected in-process (the provider has carried the step out
and the process "dies" before apply journals it: what kill -9 leaves behind); the
e2e tests keep a real process death (tests.crash_runner, os._exit). Each
crashed portal is then planned and applied again until nothing is ready, and must
end byte-identical to an uninterrupted run (compared as an export): nothing doubled,
nothing lost. The sandbox files live on /dev/shm where there is one, for speed.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest

from reconciler.apply.engine import apply_plan, run_token_for
from reconciler.config import Policy
from reconciler.desired import CustomerFile
from reconciler.export import dump
from reconciler.plan.planner import plan
from reconciler.providers.sandbox import SandboxProvider
from reconciler.snapshot import Snapshot

TODAY = dt.date(2026, 11, 18)  # mid-month: no calendar rule blocks anything
TRIPLES = 13
POLICY = Policy(deletions="allow")


class Killed(BaseException):
    """The process died: not an error apply handles, so nothing after the step is journaled."""


def _pbx(licenses: dict, term: str = "1y", **extra) -> dict:
    return {"model": "cloud", "region": "eu-central", "term": term, "licenses": licenses, "storage_gb": 50,
            "static_ip": False, "ssh": False, **extra}


def _state_pbx(serial: str, licenses: dict, devices: list) -> dict:
    return {"serial": serial, "model": "cloud", "region": "eu-central", "term": "1y", "activated_on": "2025-05-14",
            "expires_on": "2027-05-14", "status": "active", "deletion_scheduled_on": None, "licenses": licenses,
            "storage_gb": 50, "static_ip": False, "ssh": False, "devices": devices}


def _device(serial: str, product: str) -> dict:
    return {"serial": serial, "product": product, "billing": "hwaas", "since": "2025-01-01", "commitment": False}


def scene() -> tuple[list[CustomerFile], Snapshot]:
    """Triples of customers: a (more licenses, an order, two returns), b (fewer licenses, a device moved from
    a), c (a term change through zero licenses)."""
    files, customers = [], {}
    for i in range(TRIPLES):
        a, b, c = f"a{i:02d}", f"b{i:02d}", f"c{i:02d}"
        moved, kept = f"9C75{i:04d}0001", [f"9C75{i:04d}0002", f"9C75{i:04d}0003"]
        contact = [{"name": "Jane Doe", "email": f"jane@{a}.example"}]
        customers[a] = {"company": a.upper(), "contacts": contact, "pbxes": {a: _state_pbx(
            f"SW-{3 * i + 1:08d}", {"essential": 10}, [_device(moved, "WorkForce")] +
            [_device(s, "MonoLED") for s in kept])}}
        customers[b] = {"company": b.upper(), "contacts": contact,
                        "pbxes": {b: _state_pbx(f"SW-{3 * i + 2:08d}", {"essential": 5}, [])}}
        customers[c] = {"company": c.upper(), "contacts": contact,
                        "pbxes": {c: _state_pbx(f"SW-{3 * i + 3:08d}", {"essential": 4}, [])}}
        files += [
            CustomerFile.model_validate({"customer": a, "company": a.upper(), "contacts": contact, "pbxes": {
                a: _pbx({"essential": 12}, hwaas={"WorkForce": 2, "MonoLED": 0})}}),
            CustomerFile.model_validate({"customer": b, "company": b.upper(), "contacts": contact, "pbxes": {
                b: _pbx({"essential": 3}, hwaas={"WorkForce": 1}, pinned={moved: "hwaas"})}}),
            CustomerFile.model_validate({"customer": c, "company": c.upper(), "contacts": contact, "pbxes": {
                c: _pbx({"essential": 4}, term="1m", allow_deletion=True)}}),
        ]
    snapshot = Snapshot.model_validate({"as_of": TODAY, "stock": {"WorkForce": 100, "MonoLED": 0},
                                        "customers": customers}, strict=False)
    return files, snapshot


class Dying:
    """The sandbox, killed right after it carried out its `after`-th step of the run."""

    def __init__(self, inner: SandboxProvider, after: int | None):
        self.inner, self.after, self.count = inner, after, 0
        self.name, self.target = inner.name, inner.target

    def read(self, today):
        return self.inner.read(today)

    def execute(self, step, today, token):
        carried_out = self.inner.execute(step, today, token)
        self.count += 1
        if self.count == self.after:
            raise Killed
        return carried_out


def converge(files, sandbox: SandboxProvider, journal: Path, kill_after: int | None = None) -> int:
    """Plan and apply until nothing is ready; the first run dies after step `kill_after`. Returns the runs."""
    for runs in range(1, 6):
        document = plan(files, sandbox.read(TODAY), TODAY, POLICY).model_dump(mode="json")
        if not any(s["status"] == "ready" for s in document["steps"]):
            return runs - 1
        provider = Dying(sandbox, kill_after if runs == 1 else None)
        try:
            result = apply_plan(document, provider, TODAY, journal, run_token=run_token_for(document))
        except Killed:
            continue
        assert result.ok, [(o.step.id, o.reason) for o in result.outcomes if o.outcome == "failed"]
    raise AssertionError("apply did not converge in 5 runs")


def export(sandbox: SandboxProvider) -> str:
    """The portal's whole state as canonical JSON: what `export` writes, without the YAML emitter's time."""
    return json.dumps(sandbox.read(TODAY).model_dump(mode="json"), sort_keys=True, indent=1)


@pytest.fixture(scope="module")
def scratch():
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as directory:
        yield Path(directory)


def test_killed_after_every_step_and_applied_again_it_ends_as_an_uninterrupted_run(scratch):
    files, snapshot = scene()
    first = plan(files, snapshot, TODAY, POLICY)
    ready = [s for s in first.steps if s.status.value == "ready"]
    actions = {s.action.value for s in ready}
    assert len(ready) >= 100 and {"add-licenses", "remove-licenses", "change-term", "order-hwaas", "return-hwaas",
                                  "transfer-hwaas"} <= actions, sorted(actions)
    clean = SandboxProvider(scratch / "clean.db")
    clean.load(snapshot)
    assert converge(files, clean, scratch / "clean.journal") == 1
    expected = export(clean)
    assert dump(clean.read(TODAY).model_dump(mode="python")) != dump(snapshot.model_dump(mode="python"))
    for index in range(1, len(ready) + 1):
        path = scratch / f"killed-{index}.db"
        sandbox = SandboxProvider(path)
        sandbox.load(snapshot)
        runs = converge(files, sandbox, scratch / f"killed-{index}.journal", kill_after=index)
        assert export(sandbox) == expected, f"killed after step {index} of {len(ready)}"
        assert runs <= 2 or index == len(ready)
        path.unlink()
