"""A warm re-plan takes unchanged customers' parts of the plan from the cache (reconciler.warm), and its plan
is the plan a cold run makes, byte for byte, after every kind of change: a customer file edited, added or
deleted, the portal's state changed, another date, a transfer between customers, and a cache deleted,
truncated, corrupted or written by another version."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

import reconciler.warm
from reconciler.cli import main
from reconciler.render import RENDERERS
from reconciler.snapshot import Device
from reconciler.workflow import PlanFailed, PlanRequest, make_plan
from tests.conftest import ROOT, example_dirs

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import TODAY, generate  # noqa: E402

PLAN_CACHE = Path(".reconciler") / "cache" / "plan.json"


def _plan(repo: Path, today: str, state: bool, workers: int = 1) -> str:
    """The plan of the whole repo as JSON and as text, the two forms a user reads (`workers`: processes it may use)."""
    request = PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml") if state else None, today=today,
                          workers=workers)
    try:
        result = make_plan(request)
    except PlanFailed as failed:  # e.g. no customer file left: the same failure warm and cold
        return RENDERERS["json"](failed.document)
    recorded = json.dumps(result.current.model_dump(mode="json"), sort_keys=True)  # what `plan --out` saves
    return RENDERERS["json"](result.document) + RENDERERS["text"](result.document, color=False) + recorded


class Repo:
    """A repo planned warm (its cache kept from the runs before) and cold (no cache) in the same place."""

    def __init__(self, root: Path, today: str = TODAY, state: bool = True, workers: int = 1):
        self.root, self.today, self.state, self.workers = root, today, state, workers

    def warm(self, workers: int | None = None) -> str:
        return _plan(self.root, self.today, self.state, workers or self.workers)

    def cold(self) -> str:
        cache = self.root / ".reconciler"
        kept = self.root.parent / f"{self.root.name}-kept-cache"
        if cache.exists():
            shutil.move(cache, kept)
        try:
            return _plan(self.root, self.today, self.state)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            if kept.exists():
                shutil.move(kept, cache)

    def prime(self) -> None:
        """A cold run, then a run that keeps every customer's part (the snapshot's cache entry is there now)."""
        self.warm()
        self.warm()

    def same(self, planned: list) -> str:
        """The warm plan, checked equal to the cold one; `planned` gets the customers the warm run planned."""
        planned.clear()
        warm = self.warm()
        assert warm == self.cold()
        return warm


@pytest.fixture
def planned(monkeypatch) -> list:
    """The customers each warm run plans afresh (the rest come from the cache)."""
    seen: list = []
    derive = reconciler.warm.derive

    def spy(files, current, today, policy, catalog, scope, *args):
        seen.extend(scope)
        return derive(files, current, today, policy, catalog, scope, *args)

    monkeypatch.setattr(reconciler.warm, "derive", spy)
    return seen


def _customer(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "customers" / f"{name}.yaml").read_text(encoding="utf-8"))


def _write(repo: Path, name: str, data: dict) -> None:
    (repo / "customers" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _transfer(repo: Path) -> tuple[str, str]:
    """Pin on one customer's PBX a HWaaS device another customer holds: (the receiver, the source)."""
    state = yaml.safe_load((repo / "state.yaml").read_text(encoding="utf-8"))
    for source, customer in state["customers"].items():
        for pbx in customer["pbxes"].values():
            rented = [d for d in pbx.get("devices", []) if d["billing"] == "hwaas"]
            if rented and source != "c00003":
                device = rented[0]
                receiver = _customer(repo, "c00003")
                first = next(iter(receiver["pbxes"].values()))
                first["pinned"] = {device["serial"]: "hwaas"}
                first["hwaas"] = {**first.get("hwaas", {}), device["product"]: 1}
                _write(repo, "c00003", receiver)
                return "c00003", source
    raise AssertionError("the generated portal has no HWaaS device")


def _on_the_clock(repo: Path, name: str) -> None:
    """A PBX the portal is deleting, with licenses added back: its steps come first in the plan."""
    state = repo / "state.yaml"
    portal = yaml.safe_load(state.read_text(encoding="utf-8"))
    pbx = next(iter(portal["customers"][name]["pbxes"].values()))
    pbx.update(status="deletion-scheduled", deletion_scheduled_on=dt.date(2026, 11, 27))
    state.write_text(yaml.safe_dump(portal, sort_keys=False), encoding="utf-8")
    data = _customer(repo, name)
    first = next(iter(data["pbxes"].values()))
    first["licenses"] = {**first["licenses"], "premium": first["licenses"].get("premium", 0) + 2}
    _write(repo, name, data)


@pytest.fixture
def generated(tmp_path) -> Repo:
    generate(40, tmp_path / "repo")
    _on_the_clock(tmp_path / "repo", "c00030")
    return Repo(tmp_path / "repo")


def test_a_warm_plan_of_a_generated_repo_is_the_cold_plan_after_every_change(generated, planned):
    repo = generated.root
    receiver, source = _transfer(repo)
    generated.prime()
    assert planned and (repo / PLAN_CACHE).is_file()

    generated.same(planned)  # nothing changed: only the customers of the transfer are planned again
    assert sorted(planned) == sorted({receiver, source})

    edited = _customer(repo, "c00005")
    first = next(iter(edited["pbxes"].values()))
    first["licenses"] = {**first["licenses"], "basic": first["licenses"].get("basic", 0) + 3}
    _write(repo, "c00005", edited)
    generated.same(planned)
    assert sorted(planned) == sorted({receiver, source, "c00005"})

    (repo / "customers" / "c00007.yaml").unlink()  # deleted: c00007 is an unmanaged customer now
    assert "unmanaged-customer" in generated.same(planned)

    added = _customer(repo, "c00008")
    added["customer"] = "c09999"
    added["pbxes"] = {"newpbx": next(iter(added["pbxes"].values()))}
    _write(repo, "c09999", added)
    generated.same(planned)
    assert "c09999" in planned and len(planned) == 3

    state = repo / "state.yaml"
    portal = yaml.safe_load(state.read_text(encoding="utf-8"))
    licenses = next(iter(portal["customers"]["c00010"]["pbxes"].values()))["licenses"]
    licenses["basic"] = licenses.get("basic", 0) + 1
    changed = yaml.safe_dump(portal, sort_keys=False)
    state.write_text(changed, encoding="utf-8")  # the portal moved: the customer whose entry changed is planned
    generated.same(planned)
    generated.same(planned)
    assert sorted(planned) == sorted({receiver, source, "c00010"})

    kept = _parts(repo)
    generated.today = "2026-12-01"  # another date: every part is another one, and the old ones are dropped
    generated.same(planned)
    generated.same(planned)
    assert len(planned) == 2 and _parts(repo) == kept == 40 - len(planned)


def _parts(repo: Path) -> int:
    """How many customers' parts the plan cache keeps."""
    return len((repo / PLAN_CACHE).read_text(encoding="utf-8").splitlines()) - 1


def test_a_transfer_source_edited_or_its_device_pinned_elsewhere_is_planned_with_its_receiver(generated, planned):
    repo = generated.root
    receiver, source = _transfer(repo)
    generated.prime()
    data = _customer(repo, source)
    first = next(iter(data["pbxes"].values()))
    first["hwaas"] = {product: count + 1 for product, count in first.get("hwaas", {"WorkForce": 0}).items()}
    _write(repo, source, data)
    generated.same(planned)
    pinned = _customer(repo, receiver)
    next(iter(pinned["pbxes"].values())).pop("pinned")  # the transfer is gone: both are ordinary customers again
    _write(repo, receiver, pinned)
    generated.same(planned)
    generated.same(planned)
    assert planned == []


@pytest.mark.parametrize("damage", ["deleted", "truncated", "corrupted", "another version", "not a part"])
def test_a_damaged_plan_cache_costs_time_only(generated, planned, damage):
    repo = generated.root
    _transfer(repo)
    generated.prime()
    pack = repo / PLAN_CACHE
    text = pack.read_text(encoding="utf-8")
    header, body = text.split("\n", 1)
    if damage == "deleted":
        pack.unlink()
    elif damage == "truncated":
        pack.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "corrupted":
        pack.write_text(header + "\n" + body.replace('"rules":[', '"rules":[1,', 1), encoding="utf-8")
    elif damage == "another version":
        head = json.loads(header)
        head["version"] = head["version"].replace("format", "format 0 and")
        pack.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")
    else:  # an entry that is no part, its checksum made to match: its customer is planned again
        import hashlib

        body = body.replace('{"steps":[{', '{"steps":[{"id":"x",', 1)
        head = json.loads(header)
        head["sha256"] = hashlib.sha256(body.encode()).hexdigest()
        pack.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")
    generated.same(planned)
    assert len(planned) > 2
    generated.same(planned)
    assert len(planned) == 2


@pytest.mark.parametrize("workers,chunk", [(1, reconciler.warm.CHUNK), (2, reconciler.warm.CHUNK), (1, 1)],
                         ids=["alone", "with a helper", "one customer at a time"])
@pytest.mark.parametrize("example", example_dirs(), ids=lambda path: path.name)
def test_a_warm_plan_of_every_example_is_the_cold_plan(tmp_path, example, planned, workers, chunk, monkeypatch):
    monkeypatch.setattr(reconciler.warm, "HELPER_MIN", 2)  # with two workers, any two parts to make share a helper
    monkeypatch.setattr(reconciler.warm, "CHUNK", chunk)
    repo = tmp_path / example.name
    shutil.copytree(example, repo)
    as_of = str(yaml.safe_load((repo / "state.yaml").read_text(encoding="utf-8"))["as_of"])
    warm = Repo(repo, as_of, state=False, workers=workers)
    warm.prime()
    warm.same(planned)
    files = sorted((repo / "customers").glob("*.yaml"))
    files[0].write_text(files[0].read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    warm.same(planned)
    files[-1].unlink()
    warm.same(planned)
    warm.today = "2026-12-31"
    warm.same(planned)


def test_a_serial_twice_in_the_portal_is_refused_warm_as_cold(generated, planned, monkeypatch):
    """The snapshot's reader refuses a serial on two devices, and only a valid snapshot is cached, so a warm plan
    never meets one (the warm plan's keys rest on it: reconciler.warm)."""
    repo = generated.root
    made = []
    real = reconciler.warm.plan_warm
    monkeypatch.setattr(reconciler.warm, "plan_warm", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    state = yaml.safe_load((repo / "state.yaml").read_text(encoding="utf-8"))
    devices = [d for c in state["customers"].values() for p in c["pbxes"].values() for d in p.get("devices", [])]
    text = (repo / "state.yaml").read_text(encoding="utf-8")
    (repo / "state.yaml").write_text(text.replace(devices[-1]["serial"], devices[0]["serial"]), encoding="utf-8")
    generated.prime()
    made.clear()
    document = json.loads(generated.same(planned))
    assert planned == [] and made == []
    assert [d["message"] for d in document["diagnostics"]] == [
        f"device {devices[0]['serial']} is listed twice (first on line {_line_of(text, devices[0]['serial'])})"]


def _line_of(text: str, found: str) -> int:
    return text[:text.index(found)].count("\n") + 1


def test_the_plan_command_takes_the_warm_path(generated, planned, capsys):
    repo = generated.root
    arguments = ["plan", str(repo), "--state", str(repo / "state.yaml"), "--today", TODAY, "--format", "json"]
    main(arguments)
    main(arguments)
    _transfer(repo)
    capsys.readouterr()
    planned.clear()
    main(arguments)
    warm = capsys.readouterr().out
    assert len(planned) == 2
    shutil.rmtree(repo / ".reconciler")
    main(arguments)
    assert capsys.readouterr().out == warm



def test_a_warm_plan_asks_who_holds_the_devices_only_when_a_file_pins_one(generated, monkeypatch):
    """Who holds each of the portal's devices (45,000 serials at 10,000 customers) is decoded from the cached
    snapshot only when a customer file pins a serial (a transfer may tie two customers together)."""
    import reconciler.current

    asked = []
    real = reconciler.current.PortalState._decode_held
    monkeypatch.setattr(reconciler.current.PortalState, "_decode_held", lambda self: asked.append(1) or real(self))
    cold = generated.cold()
    generated.warm()
    asked.clear()
    assert generated.warm() == cold and asked == []
    _transfer(generated.root)
    assert generated.warm() == generated.cold() and asked


@pytest.fixture
def shared(generated, monkeypatch) -> Repo:
    """The generated repo with a transfer, the snapshot in the cache and no part kept: the next plan makes them all,
    sharing them with a helper (every plan of two customers or more takes one here)."""
    _transfer(generated.root)
    _on_the_clock(generated.root, "c00031")  # with c00030: one of the two is the helper's
    generated.prime()
    (generated.root / PLAN_CACHE).unlink()
    monkeypatch.setattr(reconciler.warm, "HELPER_MIN", 2)
    return generated


def test_a_plan_shared_with_a_helper_is_the_plan_made_alone_and_keeps_every_part(shared, planned):
    alone = shared.cold()
    planned.clear()
    assert shared.warm(workers=2) == alone
    assert 2 < len(planned) <= 40 // 2 + 2  # the transfer's two, and every second other customer: the helper the rest
    assert {"c00030", "c00031"} - set(planned)  # a PBX on the deletion clock was the helper's: its steps come first
    shared.same(planned)
    assert len(planned) == 2  # only the transfer: the helper's parts were kept like this process's own


def test_customers_planned_apart_are_planned_a_chunk_at_a_time_and_the_plan_is_the_one_made_at_once(
        shared, planned, monkeypatch):
    alone = shared.cold()
    sizes = []
    real = reconciler.warm._planned
    monkeypatch.setattr(reconciler.warm, "_planned", lambda customers, *args, **kw: sizes.append(len(customers))
                        or real(customers, *args, **kw))
    monkeypatch.setattr(reconciler.warm, "CHUNK", 3)
    assert shared.warm() == alone
    assert len(sizes) > 40 // 3 and max(sizes) <= 3  # only a chunk's portal entries bound at a time
    shared.same(planned)
    assert len(planned) == 2  # every chunk's parts were kept: only the transfer is planned again


@pytest.mark.parametrize("failure", ["fails", "not parts", "cannot be planned apart"])
def test_a_helper_that_gives_nothing_usable_costs_time_only(shared, planned, monkeypatch, failure):
    alone = shared.cold()

    def work(self) -> bytes:
        if failure == "fails":
            raise RuntimeError("the helper died")
        return b'{"c00001": "{not a part"}' if failure == "not parts" else b"null"

    monkeypatch.setattr(reconciler.warm._Helper, "_work", work)
    planned.clear()
    assert shared.warm(workers=2) == alone
    assert len(set(planned)) == 40  # every customer planned here: the helper's parts did not come


def test_the_stock_a_plan_shared_with_a_helper_orders_from_goes_negative_across_both_halves(generated, planned,
                                                                                           monkeypatch):
    """negative-stock (RULES.md) judges the orders of the whole plan in order: those the helper planned too."""
    repo = generated.root
    bumped = []
    for number in range(40):
        data = _customer(repo, f"c{number:05d}")
        first = next(iter(data["pbxes"].values()))
        if "hwaas" in first:
            first["hwaas"] = {**first["hwaas"], "WorkForce": first["hwaas"].get("WorkForce", 0) + 1}
            _write(repo, f"c{number:05d}", data)
            bumped.append(f"c{number:05d}")
    state = repo / "state.yaml"
    portal = yaml.safe_load(state.read_text(encoding="utf-8"))
    portal["stock"] = {**portal.get("stock", {}), "WorkForce": 3}
    state.write_text(yaml.safe_dump(portal, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(reconciler.warm, "HELPER_MIN", 2)
    monkeypatch.setattr(reconciler.warm, "CHUNK", 4)  # and across this process's chunks
    alone = generated.cold()
    generated.warm()  # the snapshot's cache entry: the next plan takes the warm path and makes every part
    planned.clear()
    shared = generated.warm(workers=2)
    assert shared == alone
    document, _ = json.JSONDecoder().raw_decode(shared)  # the JSON plan, then the text one
    backordered = {d["customer"] for d in document["diagnostics"] if d["rule"] == "negative-stock"}
    assert len(bumped) > 3 and backordered <= set(bumped) and len(backordered) == len(bumped) - 3
    assert backordered - set(planned) and backordered & set(planned)  # orders of both processes, judged in turn


@pytest.mark.parametrize("workers", [1, 2], ids=["alone", "with a helper"])
def test_a_pbx_name_held_elsewhere_in_the_portal_is_taken_in_every_chunk(generated, monkeypatch, workers):
    """pbx-name-taken (RULES.md) reads the holders of the whole portal, not those of the chunk being planned."""
    repo = generated.root
    state = yaml.safe_load((repo / "state.yaml").read_text(encoding="utf-8"))
    other = copy.deepcopy(state["customers"]["c00037"])  # a customer the repo does not manage holds the name
    other["pbxes"] = {"shared": {**next(iter(other["pbxes"].values())), "devices": []}}
    state["customers"]["c00099"] = other
    (repo / "state.yaml").write_text(yaml.safe_dump(state, sort_keys=False), encoding="utf-8")
    data = _customer(repo, "c00001")
    data["pbxes"] = {"shared": next(iter(data["pbxes"].values()))}  # its PBX renamed: a new PBX to create
    _write(repo, "c00001", data)
    monkeypatch.setattr(reconciler.warm, "HELPER_MIN", 2)
    monkeypatch.setattr(reconciler.warm, "CHUNK", 3)
    alone = generated.cold()
    generated.warm()  # the snapshot's cache entry: the next plan takes the warm path and makes every part
    (repo / PLAN_CACHE).unlink(missing_ok=True)
    chunked = generated.warm(workers=workers)
    assert chunked == alone
    document, _ = json.JSONDecoder().raw_decode(chunked)
    assert [d["customer"] for d in document["diagnostics"] if d["rule"] == "pbx-name-taken"] == ["c00001"]


def test_a_portal_state_beyond_ascii_keys_each_customer_by_its_own_entry(generated, planned):
    """A part's key hashes its customer's entry of the cached snapshot: the entries after a company named in
    three scripts (multi-byte in UTF-8) are keyed by their own text, to their last byte."""
    repo = generated.root
    state = repo / "state.yaml"
    portal = yaml.safe_load(state.read_text(encoding="utf-8"))
    portal["customers"]["c00002"]["company"] = "Müller & Söhne, 東京支店 " * 40
    state.write_text(yaml.safe_dump(portal, sort_keys=False, allow_unicode=True), encoding="utf-8")
    generated.prime()
    generated.same(planned)
    assert planned == []  # nothing changed: every part is kept

    last = max(int(name[1:]) for name in portal["customers"])
    changed = f"c{last:05d}"  # its entry is the snapshot's last, the furthest from where the text's bytes grew
    pbx = list(portal["customers"][changed]["pbxes"].values())[-1]
    device = pbx.setdefault("devices", [{"serial": "9C75FFFF0001", "product": "WorkForce", "billing": "capex"}])[-1]
    state.write_text(yaml.safe_dump(portal, sort_keys=False, allow_unicode=True), encoding="utf-8")
    generated.prime()
    device["serial"] = device["serial"][:-4] + "FFFE"  # the entry's last bytes, its length the same
    state.write_text(yaml.safe_dump(portal, sort_keys=False, allow_unicode=True), encoding="utf-8")
    generated.same(planned)  # the snapshot is read again, and its cache entry kept
    generated.same(planned)
    assert planned == [changed]
