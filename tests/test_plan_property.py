"""Property: the planner converges. Applying a plan's ready steps and planning again gives no steps.

States are drawn over the real models on a day when nothing is blocked or manual: mid-month,
no overdue invoices, devices older than 6 months, no commitments, no storage decrease, no
model or region change, transfers only between PBXs of the same term and expiry, and HWaaS
counts only on PBXs left with licenses.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import Policy
from reconciler.desired import CustomerFile
from reconciler.domain import PROFILES
from reconciler.plan.model import Status
from reconciler.plan.planner import plan
from tests.simulate import apply_steps
from reconciler.snapshot import Snapshot
from tests.conftest import examples

TODAY = dt.date(2026, 11, 18)
EXPIRES = "2027-05-14"
PRODUCTS = ["MonoLED", "WorkForce"]
TERMS = ["1m", "1y", "5y"]

licenses = st.dictionaries(st.sampled_from(PROFILES), st.integers(0, 3), max_size=3)
counts = st.dictionaries(st.sampled_from(PRODUCTS), st.integers(0, 4), max_size=2)


@st.composite
def current_pbx(draw, serials):
    model = draw(st.sampled_from(["cloud", "virtual", "hardware"]))
    cloud = model == "cloud"
    owned = draw(licenses)
    scheduled = cloud and sum(owned.values()) == 0 and draw(st.booleans())
    devices = [{"serial": next(serials), "product": draw(st.sampled_from(PRODUCTS)),
                "billing": draw(st.sampled_from(["hwaas", "capex"])), "since": "2025-01-01"}
               for _ in range(draw(st.integers(0, 3)))]
    return {
        "serial": f"SW-{draw(st.integers(1, 10**6))}", "model": model, "region": "eu" if cloud else None,
        "term": draw(st.sampled_from(TERMS)), "activated_on": "2026-05-14", "expires_on": EXPIRES,
        "status": "deletion-scheduled" if scheduled else "active",
        "deletion_scheduled_on": "2026-11-17" if scheduled else None, "licenses": owned,
        "storage_gb": draw(st.sampled_from([None, 20, 50])) if cloud else None,
        "static_ip": draw(st.sampled_from([None, False, True])) if cloud else None,
        "ssh": draw(st.sampled_from([None, False, True])) if cloud else None,
        "devices": devices,
    }


def _serials():
    n = 0
    while True:
        n += 1
        yield f"9C{n:06d}"


@st.composite
def new_pbx(draw):
    model = draw(st.sampled_from(["cloud", "virtual", "hardware"]))
    owned = draw(licenses)
    hwaas = draw(counts) if any(owned.values()) else {}  # HWaaS only with a subscription
    terms = TERMS + ([] if model == "cloud" or any(hwaas.values()) else ["lifetime"])
    pbx = {"model": model, "term": draw(st.sampled_from(terms)), "licenses": owned, "hwaas": hwaas}
    if model == "cloud":
        pbx |= {"region": "eu", "storage_gb": draw(st.sampled_from([None, 30])), "ssh": draw(st.booleans())}
    return pbx


@st.composite
def desired_pbx(draw, current: dict, claimable: list[tuple[str, dict, dict]], claimed: set[str]):
    """A kept PBX: same model and region, maybe another term, counts, options up; pins it may take."""
    term = draw(st.sampled_from(TERMS)) if draw(st.booleans()) else current["term"]
    owned = draw(licenses)
    pbx = {"model": current["model"], "term": term, "licenses": owned,
           "hwaas": draw(counts) if any(owned.values()) else {}, "allow_deletion": draw(st.booleans())}
    if current["model"] == "cloud":
        pbx["region"] = current["region"]
        if draw(st.booleans()):
            pbx["storage_gb"] = (current["storage_gb"] or 0) + draw(st.integers(0, 50))
        for option in ("static_ip", "ssh"):
            pbx[option] = draw(st.sampled_from([None, False, True]))
    pins = {}
    for serial, device, where in claimable:
        if serial in claimed or not draw(st.booleans()):
            continue
        here = where is current
        if here and device["billing"] == "capex":
            ok = True                                              # a conversion
        elif device["billing"] == "hwaas":
            ok = here or (where["term"] == current["term"] == term)  # a same-term transfer
        else:
            ok = False                                             # CAPEX elsewhere: a ticket
        if ok:
            pins[serial] = "hwaas"
            claimed.add(serial)
    pbx["pinned"] = pins
    return pbx


@st.composite
def scenes(draw):
    serials = _serials()
    current: dict[str, dict] = {}
    for customer in draw(st.lists(st.sampled_from(["c1", "c2", "c3"]), unique=True, max_size=3)):
        names = draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), unique=True, max_size=2))
        current[customer] = {f"{customer}-{name}": draw(current_pbx(serials)) for name in names}  # names: domains
    claimable = [(d["serial"], d, pbx) for pbxes in current.values() for pbx in pbxes.values() for d in pbx["devices"]]
    claimed: set[str] = set()

    files = []
    for customer in sorted(set(current) | set(draw(st.lists(st.sampled_from(["c4", "c5"]), unique=True,
                                                            max_size=2)))):
        if customer in current and not draw(st.booleans()):
            continue  # unmanaged (or pruned)
        pbxes = {}
        for name, pbx in sorted(current.get(customer, {}).items()):
            if draw(st.integers(0, 4)):  # mostly kept; else absent: decommissioned
                pbxes[name] = draw(desired_pbx(pbx, claimable, claimed))
        for name in draw(st.lists(st.sampled_from(["n1", "n2"]), unique=True, max_size=2)):
            pbxes[f"{customer}-{name}"] = draw(new_pbx())
        files.append(CustomerFile.model_validate(
            {"customer": customer, "company": customer.upper(), "contacts": [{"name": "J", "email": "j@x.example"}],
             "pbxes": pbxes}, strict=False))

    snapshot = Snapshot.model_validate({
        "as_of": TODAY.isoformat(), "stock": draw(st.dictionaries(st.sampled_from(PRODUCTS), st.integers(-2, 5))),
        "customers": {c: {"company": c.upper(), "pbxes": pbxes} for c, pbxes in current.items()},
    }, strict=False)
    policy = Policy(deletions=draw(st.sampled_from(["guarded", "allow", "deny"])), prune=draw(st.booleans()))
    return files, snapshot, policy


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_applying_the_ready_steps_converges(scene):
    files, snapshot, policy = scene
    first = plan(files, snapshot, TODAY, policy)
    assert all(step.status is Status.READY for step in first.steps), first.model_dump(mode="json")["steps"]
    after = apply_steps(snapshot, first.steps)
    again = plan(files, after, TODAY, policy)
    assert again.steps == [], again.model_dump(mode="json")["steps"]


@settings(max_examples=examples(50), deadline=None)
@given(scenes())
def test_planning_is_deterministic(scene):
    files, snapshot, policy = scene
    assert plan(files, snapshot, TODAY, policy).model_dump(mode="json") == \
        plan(list(reversed(files)), snapshot, TODAY, policy).model_dump(mode="json")
