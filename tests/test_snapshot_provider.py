"""The snapshot provider reads FORMAT.md section 4 and refuses a broken state file with positions."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from reconciler.diagnostics import ReconcilerError
from reconciler.providers.snapshot import SnapshotProvider

GOOD = """\
as_of: 2026-11-22
partner:
  overdue_since: null
stock: {WorkForce: 12, MonoLED: -3}
catalog:
  phones: [WorkForce, ForceOne]
customers:
  acme:
    company: Acme GmbH
    contacts: [{name: Jane Doe, email: jane@acme.example}]
    pbxes:
      acme:
        serial: SW-00012345
        model: cloud
        region: eu-central
        term: 1y
        activated_on: 2026-05-14
        expires_on: 2027-05-14
        status: active
        deletion_scheduled_on: null
        licenses: {basic: 10, essential: 30, premium: 5, service: 2}
        storage_gb: 50
        devices:
          - {serial: 9C7514000001, product: WorkForce, billing: hwaas, since: 2026-06-01}
          - {serial: 9C7514000002, product: WorkForce, billing: capex}
"""


def _read(tmp_path, text):
    path = tmp_path / "state.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return SnapshotProvider(path, "state.yaml").read()


def _errors(tmp_path, text) -> list[str]:
    with pytest.raises(ReconcilerError) as caught:
        _read(tmp_path, text)
    return [d.format() for d in caught.value.diagnostics]


def test_reads_the_documented_format(tmp_path):
    snapshot = _read(tmp_path, GOOD)
    pbx = snapshot.customers["acme"].pbxes["acme"]
    assert snapshot.as_of == dt.date(2026, 11, 22)
    assert snapshot.stock["MonoLED"] == -3
    assert pbx.licenses.counts() == {"basic": 10, "essential": 30, "business": 0, "premium": 5, "wizyconf": 0,
                                     "service": 2}
    assert [d.billing for d in pbx.devices] == ["hwaas", "capex"]
    assert pbx.expires_on == dt.date(2027, 5, 14)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ReconcilerError, match="state file .* not found"):
        SnapshotProvider(tmp_path / "nope.yaml").read()


def test_a_device_listed_twice_is_refused_with_both_lines(tmp_path):
    text = GOOD.replace("9C7514000002", "9C7514000001")
    assert _errors(tmp_path, text) == [
        "state.yaml:25:22: error[schema]: device 9C7514000001 is listed twice (first on line 24)"]


def test_bad_status_and_dates_are_positioned(tmp_path):
    text = GOOD.replace("status: active", "status: paused").replace("expires_on: 2027-05-14", "expires_on: soon")
    assert _errors(tmp_path, text) == [
        "state.yaml:18:21: error[schema]: 'customers.acme.pbxes.acme.expires_on' must be a date (YYYY-MM-DD), "
        "not the text 'soon'",
        "state.yaml:19:17: error[schema]: 'customers.acme.pbxes.acme.status' must be one of 'active', "
        "'deletion-scheduled', 'stopped', not the text 'paused'",
    ]


def test_hwaas_device_needs_its_since_date(tmp_path):
    text = GOOD.replace(", since: 2026-06-01", "")
    assert _errors(tmp_path, text) == [
        "state.yaml:24:13: error[schema]: HWaaS device 9C7514000001 needs 'since' (its order or conversion date)"]


def _portal(customers: int, mistakes: dict[int, str] | None = None, partner: str = "{overdue_since: null}") -> str:
    """A portal of that many customers like acme, customer number N written with `mistakes[N]` in its PBX."""
    lines = ["as_of: 2026-11-22", f"partner: {partner}", "customers:"]
    for number in range(customers):
        extra = (mistakes or {}).get(number, "")
        lines += [f"  c{number:03d}:", f"    company: Customer {number}", "    pbxes:", f"      c{number:03d}:",
                  f"        serial: SW-{number:08d}", "        model: cloud", "        region: eu-central", "        term: 1y",
                  "        expires_on: 2027-05-14", "        licenses: {basic: 10}", "        devices:",
                  f"          - {{serial: 9C75{number:08d}, product: WorkForce, billing: capex}}"]
        lines += [f"        {extra}"] if extra else []
    return "\n".join(lines) + "\n"


def _bound_whole(tmp_path, text, monkeypatch):
    import reconciler.providers.snapshot as provider

    monkeypatch.setattr(provider, "CHUNK", 10**9)
    try:
        return _read(tmp_path, text), []
    except ReconcilerError as failed:
        return None, [d.format() for d in failed.diagnostics]
    finally:
        monkeypatch.undo()


def test_a_big_snapshot_bound_a_few_customers_at_a_time_is_the_snapshot_bound_whole(tmp_path, monkeypatch):
    text = _portal(23)
    whole, _ = _bound_whole(tmp_path, text, monkeypatch)
    monkeypatch.setattr("reconciler.providers.snapshot.CHUNK", 4)
    chunked = _read(tmp_path, text)
    assert chunked == whole and list(chunked.customers) == list(whole.customers)
    assert chunked.model_dump_json(exclude_unset=True) == whole.model_dump_json(exclude_unset=True)


@pytest.mark.parametrize("partner", ["{overdue_since: null}", "{overdue_since: soon, colour: red}"])
def test_a_big_snapshots_errors_in_many_chunks_are_those_of_the_snapshot_bound_whole(tmp_path, monkeypatch, partner):
    text = _portal(23, {1: "storage_gb: lots", 9: "termz: 1y", 10: "status: sleeping", 22: "ssh: maybe"}, partner)
    whole, expected = _bound_whole(tmp_path, text, monkeypatch)
    monkeypatch.setattr("reconciler.providers.snapshot.CHUNK", 4)
    assert whole is None and len(expected) >= 4 + (partner != "{overdue_since: null}")
    assert _errors(tmp_path, text) == expected
