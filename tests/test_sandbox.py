"""The sandbox portal: storage, snapshots in and out, every operation's effect, its clock, exactly-once steps."""

from __future__ import annotations

import datetime as dt
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.diagnostics import ReconcilerError
from reconciler.providers import Executor, StepRefused
from reconciler.providers.sandbox import SandboxProvider
from reconciler.providers.snapshot import SnapshotProvider
from reconciler.sandbox.catalog import BUILTIN_CATALOG
from tests.conftest import example_dirs
from tests.test_sandbox_support import TODAY, D, device, pbx_of, sandbox, scene, serials, step

DAY = dt.timedelta(days=1)
BUILTIN = {category: list(products) for category, products in BUILTIN_CATALOG.items()}


# storage and snapshots ---------------------------------------------------------------------------

@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_load_then_read_gives_the_snapshot_back(tmp_path, example):
    snapshot = SnapshotProvider(example / "state.yaml").read()
    provider = sandbox(tmp_path, snapshot)
    expected = snapshot.model_dump()
    expected["catalog"] = expected["catalog"] or BUILTIN
    for customer in expected["customers"].values():
        for pbx in customer["pbxes"].values():
            pbx["devices"].sort(key=lambda d: d["serial"])  # the sandbox reads devices sorted by serial
    assert provider.read(snapshot.as_of).model_dump() == expected


def test_the_provider_names_itself_and_its_file(tmp_path):
    provider = SandboxProvider(tmp_path / "a" / ".." / "sandbox.db")
    assert provider.name == "sandbox"
    assert provider.target == str((tmp_path / "sandbox.db").resolve())
    assert isinstance(provider, Executor)


def test_a_missing_file_reads_as_an_empty_portal_and_is_not_created(tmp_path):
    provider = SandboxProvider(tmp_path / "none" / "sandbox.db")
    current = provider.read(TODAY)
    assert (current.as_of, current.customers, current.stock, current.catalog) == (TODAY, {}, {}, BUILTIN)
    assert not (tmp_path / "none").exists()


def test_reset_empties_the_portal_and_restores_the_builtin_catalog(tmp_path):
    provider = sandbox(tmp_path)
    provider.reset()
    assert provider.read(TODAY) == SandboxProvider(tmp_path / "missing.db").read(TODAY)


def test_a_snapshot_without_catalog_gets_the_builtin_one(tmp_path):
    provider = sandbox(tmp_path, scene(catalog=None))
    assert provider.read(TODAY).catalog == BUILTIN
    provider = sandbox(tmp_path, scene(catalog={"phones": ["Vision"]}))
    assert provider.read(TODAY).catalog == {"phones": ["Vision"]}


def test_the_file_holds_the_documented_tables(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("add-licenses", "acme", "acme", {"licenses.basic": [10, 11]}), TODAY, "t1")
    with sqlite3.connect(provider.path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tokens = conn.execute("SELECT token, applied_on FROM applied_tokens").fetchall()
        version = conn.execute("SELECT version FROM schema_version").fetchall()
    assert {"schema_version", "clock", "partner", "stock", "catalog", "customers", "contacts", "pbxes", "devices",
            "counters", "applied_tokens"} <= tables
    assert tokens == [("t1", TODAY.isoformat())] and version == [(1,)]


def test_a_file_that_is_not_a_sandbox_is_an_error(tmp_path):
    path = tmp_path / "sandbox.db"
    path.write_text("not sqlite at all, just text " * 20)
    with pytest.raises(ReconcilerError, match="is not a sandbox portal file"):
        SandboxProvider(path).read(TODAY)


# every operation's happy path ------------------------------------------------------------------

def test_create_customer(tmp_path):
    provider = sandbox(tmp_path)
    contacts = [{"name": "Marco Bianchi", "email": "marco@initrode.example"}]
    provider.execute(step("create-customer", "initrode", None, {"company": "Initrode", "contacts": contacts}),
                     TODAY, "t")
    customer = provider.read(TODAY).customers["initrode"]
    assert (customer.company, [c.model_dump() for c in customer.contacts], customer.pbxes) == ("Initrode", contacts, {})


def test_create_cloud_pbx_assigns_the_next_software_serial_and_the_expiry(tmp_path):
    provider = sandbox(tmp_path)
    form = {"name": "cyberdyne", "model": "cloud", "term": "1y", "region": "eu-west", "storage_gb": 20,
            "static_ip": True, "licenses": {"essential": 4, "service": 1}}
    provider.execute(step("create-pbx", "cyberdyne", "cyberdyne", form), TODAY, "t")
    pbx = pbx_of(provider.read(TODAY), "cyberdyne/cyberdyne")
    assert (pbx.serial, pbx.activated_on, pbx.expires_on, pbx.status) == ("SW-00000013", TODAY, D("2027-11-18"),
                                                                         "active")
    assert (pbx.region, pbx.storage_gb, pbx.static_ip, pbx.ssh) == ("eu-west", 20, True, None)
    assert pbx.licenses.counts() == {"basic": 0, "essential": 4, "business": 0, "premium": 0, "wizyconf": 0,
                                     "service": 1}


def test_a_hardware_pbx_is_purchased_then_created_with_a_hardware_serial(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("purchase-hardware-pbx", "cyberdyne", "cyberdyne", {"product": "WPBX-HW", "quantity": 1}),
                     TODAY, "t1")
    form = {"name": "cyberdyne", "model": "hardware", "term": "lifetime", "licenses": {"basic": 2}}
    provider.execute(step("create-pbx", "cyberdyne", "cyberdyne", form), TODAY, "t2")
    pbx = pbx_of(provider.read(TODAY), "cyberdyne/cyberdyne")
    assert (pbx.serial, pbx.term, pbx.expires_on, pbx.region) == ("HW-00000004", "lifetime", None, None)
    with pytest.raises(StepRefused, match=r"no purchased WPBX-HW unit .*\[hardware-pbx-purchase\]"):
        provider.execute(step("create-pbx", "cyberdyne", "second", {**form, "name": "second", "licenses": {}}),
                         TODAY, "t3")  # the one unit bought was used


def test_add_and_remove_licenses(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("add-licenses", "acme", "acme", {"licenses.business": [0, 3], "licenses.basic": [10, 12]}),
                     TODAY, "t1")
    provider.execute(step("remove-licenses", "acme", "acme", {"licenses.premium": [5, 1]}), TODAY, "t2")
    licenses = pbx_of(provider.read(TODAY), "acme/acme").licenses
    assert (licenses.basic, licenses.essential, licenses.business, licenses.premium) == (12, 30, 3, 1)


def test_change_term_through_zero_sets_a_new_expiry(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("change-term", "hooli", "hooli", {"term": ["1y", "1m"]}), TODAY, "t")
    pbx = pbx_of(provider.read(TODAY), "hooli/hooli")
    assert (pbx.term, pbx.expires_on) == ("1m", D("2026-12-18"))


def test_a_term_change_on_a_cloud_pbx_passes_through_the_deletion_schedule_and_out(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("remove-licenses", "globex", "globex", {"licenses.essential": [8, 0]}), TODAY, "t1")
    assert pbx_of(provider.read(TODAY), "globex/globex").status == "deletion-scheduled"
    provider.execute(step("change-term", "globex", "globex", {"term": ["1y", "5y"]}), TODAY, "t2")
    provider.execute(step("add-licenses", "globex", "globex", {"licenses.essential": [0, 8]}), TODAY, "t3")
    pbx = pbx_of(provider.read(TODAY), "globex/globex")
    assert (pbx.term, pbx.expires_on, pbx.status, pbx.deletion_scheduled_on) == ("5y", D("2031-11-18"), "active", None)


def test_set_options_increases_storage_and_toggles_flags(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("set-options", "acme", "acme", {"storage_gb": [50, 100], "ssh": [False, True]}),
                     TODAY, "t")
    pbx = pbx_of(provider.read(TODAY), "acme/acme")
    assert (pbx.storage_gb, pbx.static_ip, pbx.ssh) == (100, False, True)


def test_order_hwaas_creates_devices_with_sequential_serials_and_stock_may_go_negative(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 3}), TODAY, "t1")
    provider.execute(step("order-hwaas", "globex", "globex", {"product": "Vision", "quantity": 1}), TODAY, "t2")
    after = provider.read(TODAY)
    devices = pbx_of(after, "globex/globex").devices
    assert [d.serial for d in devices] == ["9C7514000021", "9C7514000022", "9C7514000023", "9C7514000024"]
    assert {(d.product, d.billing, d.since, d.commitment) for d in devices} == {
        ("WorkForce", "hwaas", TODAY, False), ("Vision", "hwaas", TODAY, False)}
    assert after.stock == {"WorkForce": -2, "Vision": -1}  # 1 in stock, 3 ordered; Vision was never stocked


def test_convert_to_hwaas_starts_billing_today(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("convert-to-hwaas", "acme", "acme", {"product": "WorkForce", "quantity": 1,
                                                               "serials": ["9C7514000002"],
                                                               "billing": ["capex", "hwaas"]}), TODAY, "t")
    converted = {d.serial: d for d in pbx_of(provider.read(TODAY), "acme/acme").devices}["9C7514000002"]
    assert (converted.billing, converted.since) == ("hwaas", TODAY)


def test_transfer_hwaas_moves_devices_and_restarts_their_minimum_term(tmp_path):
    """Seed 003, step 4: the subscription is kept for 6 months from the transfer."""
    provider = sandbox(tmp_path)
    provider.execute(step("transfer-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 1,
                                                                 "serials": ["9C7514000001"], "from": "acme/acme"}),
                     TODAY, "t")
    after = provider.read(TODAY)
    assert "9C7514000001" not in serials(pbx_of(after, "acme/acme"))
    assert pbx_of(after, "globex/globex").devices[0].model_dump() == device("9C7514000001") | {"since": TODAY}


def test_return_hwaas_removes_devices_and_restocks_them(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("return-hwaas", "acme", "acme", {"product": "WorkForce", "quantity": 1,
                                                           "serials": ["9C7514000001"]}), TODAY, "t")
    after = provider.read(TODAY)
    assert "9C7514000001" not in serials(pbx_of(after, "acme/acme")) and after.stock["WorkForce"] == 2


# serials ---------------------------------------------------------------------------------------

def test_serials_start_above_every_loaded_serial_and_restart_after_a_reset(tmp_path):
    provider = sandbox(tmp_path)
    order = step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 1})
    provider.execute(order, TODAY, "t1")
    assert serials(pbx_of(provider.read(TODAY), "globex/globex")) == ["9C7514000021"]
    provider.reset()
    provider.execute(step("create-customer", "globex", None, {"company": "Globex", "contacts": [
        {"name": "Giulia Rossi", "email": "giulia@globex.example"}]}), TODAY, "t2")
    provider.execute(step("create-pbx", "globex", "globex", {"name": "globex", "model": "virtual", "term": "1y",
                                                             "licenses": {"basic": 1}}), TODAY, "t3")
    provider.execute(order, TODAY, "t4")
    pbx = pbx_of(provider.read(TODAY), "globex/globex")
    assert (pbx.serial, serials(pbx)) == ("SW-00000001", ["9C7500000001"])


def test_a_serial_is_never_handed_out_twice_even_after_its_device_is_returned(tmp_path):
    provider = sandbox(tmp_path)
    order = {"product": "WorkForce", "quantity": 1}
    provider.execute(step("order-hwaas", "globex", "globex", order), D("2026-11-18"), "t1")
    provider.execute(step("return-hwaas", "globex", "globex", {**order, "serials": ["9C7514000021"]}),
                     D("2027-05-18"), "t2")
    provider.execute(step("order-hwaas", "globex", "globex", order), D("2027-05-18"), "t3")
    assert serials(pbx_of(provider.read(D("2027-05-18")), "globex/globex")) == ["9C7514000022"]


# exactly once ----------------------------------------------------------------------------------

def test_the_same_token_twice_has_one_effect(tmp_path):
    provider = sandbox(tmp_path)
    order = step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 2})
    provider.execute(order, TODAY, "run:1")
    once = provider.read(TODAY)
    provider.execute(order, TODAY, "run:1")
    assert provider.read(TODAY) == once and len(pbx_of(once, "globex/globex").devices) == 2


def test_a_token_is_honoured_by_a_new_provider_on_the_same_file_after_a_crash(tmp_path):
    sandbox(tmp_path).execute(step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 1}),
                              TODAY, "run:3")
    # the process died before apply journaled the step as done; a new one runs it again
    again = SandboxProvider(tmp_path / "portal" / "sandbox.db")
    again.execute(step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 1}), TODAY, "run:3")
    assert serials(pbx_of(again.read(TODAY), "globex/globex")) == ["9C7514000021"]


def test_a_license_step_already_done_is_a_no_op_even_under_another_token(tmp_path):
    provider = sandbox(tmp_path)
    add = step("add-licenses", "acme", "acme", {"licenses.basic": [10, 12]})
    provider.execute(add, TODAY, "a")
    provider.execute(add, TODAY, "b")
    assert pbx_of(provider.read(TODAY), "acme/acme").licenses.basic == 12


def test_a_refused_step_records_no_token_and_may_go_later(tmp_path):
    provider = sandbox(tmp_path)
    remove = step("remove-licenses", "acme", "acme", {"licenses.basic": [10, 8]})
    with pytest.raises(StepRefused):
        provider.execute(remove, D("2026-11-30"), "t")
    provider.execute(remove, D("2026-12-01"), "t")
    assert pbx_of(provider.read(D("2026-12-01")), "acme/acme").licenses.basic == 8


def test_a_step_that_fails_halfway_leaves_nothing_behind(tmp_path, monkeypatch):
    provider = sandbox(tmp_path)
    before = provider.read(TODAY)

    def power_cut(*args):
        raise RuntimeError("power cut")

    monkeypatch.setattr("reconciler.sandbox.devices.add_stock", power_cut)  # after the devices were inserted
    with pytest.raises(RuntimeError):
        provider.execute(step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 2}), TODAY, "t")
    monkeypatch.undo()
    assert provider.read(TODAY) == before
    provider.execute(step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 2}), TODAY, "t")
    assert len(pbx_of(provider.read(TODAY), "globex/globex").devices) == 2  # the token was not recorded


def test_concurrent_writers_never_share_a_serial(tmp_path):
    sandbox(tmp_path)
    order = step("order-hwaas", "globex", "globex", {"product": "WorkForce", "quantity": 1})

    def orders(worker: int) -> None:
        provider = SandboxProvider(tmp_path / "portal" / "sandbox.db")
        for n in range(5):
            provider.execute(order, TODAY, f"{worker}:{n}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(orders, range(4)))
    found = serials(pbx_of(SandboxProvider(tmp_path / "portal" / "sandbox.db").read(TODAY), "globex/globex"))
    assert found == [f"9C75140000{n}" for n in range(21, 41)]


# the clock -------------------------------------------------------------------------------------

def test_the_deletion_schedule_of_a_cloud_pbx_at_zero_licenses(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("remove-licenses", "acme", "acme", {"licenses.basic": [10, 0], "licenses.essential": [30, 0],
                                                              "licenses.premium": [5, 0]}), TODAY, "t")
    for offset, status in ((0, "deletion-scheduled"), (4, "deletion-scheduled"), (5, "stopped"), (13, "stopped")):
        pbx = pbx_of(provider.read(TODAY + offset * DAY), "acme/acme")
        assert (pbx.status, pbx.deletion_scheduled_on) == (status, TODAY), offset
    gone = provider.read(TODAY + 14 * DAY)
    assert set(gone.customers["acme"].pbxes) == {"acme-lab"}
    assert gone.stock == {"WorkForce": 2, "MonoLED": 2}  # its HWaaS devices came back; the CAPEX one is the customer's


def test_a_deletion_scheduled_pbx_is_saved_by_adding_a_license(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("remove-licenses", "globex", "globex", {"licenses.essential": [8, 0]}), TODAY, "t1")
    provider.execute(step("add-licenses", "globex", "globex", {"licenses.basic": [0, 1]}), TODAY + 4 * DAY, "t2")
    pbx = pbx_of(provider.read(TODAY + 30 * DAY), "globex/globex")
    assert (pbx.status, pbx.deletion_scheduled_on, pbx.licenses.basic) == ("active", None, 1)


def test_a_stopped_pbx_is_not_saved_by_adding_a_license(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("remove-licenses", "globex", "globex", {"licenses.essential": [8, 0]}), TODAY, "t1")
    with pytest.raises(StepRefused, match=r"stopped .*Area Manager.*\[deletion-revert\]"):
        provider.execute(step("add-licenses", "globex", "globex", {"licenses.basic": [0, 1]}), TODAY + 5 * DAY, "t2")


def test_only_cloud_pbxs_are_scheduled_for_deletion(tmp_path):
    provider = sandbox(tmp_path)
    provider.execute(step("remove-licenses", "tyrell", "tyrell", {"licenses.basic": [5, 0]}), TODAY, "t")
    pbx = pbx_of(provider.read(TODAY + 30 * DAY), "tyrell/tyrell")
    assert (pbx.status, pbx.deletion_scheduled_on) == ("active", None)


def test_renewal_moves_expires_on_by_whole_terms(tmp_path):
    pbxes = {"monthly": {"serial": "SW-00000001", "model": "cloud", "region": "eu-west", "term": "1m",
                         "expires_on": "2026-11-30", "licenses": {"basic": 1}},
             "unlicensed": {"serial": "SW-00000002", "model": "virtual", "term": "1y", "expires_on": "2026-11-20"}}
    provider = sandbox(tmp_path, scene(customers={"wayne": {"pbxes": pbxes}}))
    assert pbx_of(provider.read(D("2026-11-29")), "wayne/monthly").expires_on == D("2026-11-30")
    assert pbx_of(provider.read(D("2026-11-30")), "wayne/monthly").expires_on == D("2026-12-30")  # renewed on the day
    later = provider.read(D("2027-03-05"))
    assert pbx_of(later, "wayne/monthly").expires_on == D("2027-03-30")
    assert pbx_of(later, "wayne/unlicensed").expires_on == D("2026-11-20")  # nothing to renew


def test_the_clock_never_moves_back(tmp_path):
    provider = sandbox(tmp_path)
    provider.advance(TODAY + 3 * DAY)
    with pytest.raises(ReconcilerError, match=r"clock is at 2026-11-21: it cannot act on 2026-11-20"):
        provider.read(TODAY + 2 * DAY)
    with pytest.raises(ReconcilerError, match="never goes back in time"):
        provider.execute(step("add-licenses", "acme", "acme", {"licenses.basic": [10, 11]}), TODAY, "t")
    provider.load(scene())  # a load sets the clock to the snapshot's as_of
    assert provider.read(TODAY).as_of == TODAY
