"""`reconciler plan` through the CLI: formats, exit codes, saved plans, the date, colors, errors."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys

import jsonschema
import pytest

from reconciler.cli import main
from reconciler.plan.saved import checksum
from reconciler.workflow import decide_today
from tests.conftest import EXAMPLES, ROOT

LAST_DAY = EXAMPLES / "last-day-decrease"


@pytest.fixture
def repo(tmp_path):
    """A copy of the last-day example: one increase ready, one decrease blocked on 2026-11-30."""
    target = tmp_path / "repo"
    shutil.copytree(LAST_DAY, target)
    return target


def plan(capsys, *args):
    code = main(["plan", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_plan_and_exit_codes(repo, capsys):
    code, out, _ = plan(capsys, repo, "--today", "2026-11-30")
    assert code == 0
    assert out.rstrip().endswith("Plan: 1 ready, 1 blocked until 2026-12-01, 0 manual.")
    assert plan(capsys, repo, "--today", "2026-11-30", "--detailed-exitcode")[0] == 2


def test_a_day_later_the_decrease_is_ready(repo, capsys):
    _, out, _ = plan(capsys, repo, "--today", "2026-12-01")
    assert out.rstrip().endswith("Plan: 2 ready, 0 blocked, 0 manual.")


def test_in_sync_says_so_and_exits_0_even_with_detailed_exitcode(repo, capsys):
    state = (repo / "state.yaml").read_text()
    (repo / "state.yaml").write_text(state.replace("{essential: 25, business: 5, service: 2}",
                                                   "{essential: 20, business: 10, service: 2}"))
    code, out, _ = plan(capsys, repo, "--today", "2026-11-30", "--detailed-exitcode")
    assert code == 0
    assert "No changes. The portal matches the desired state." in out


def test_json_and_markdown_formats(repo, capsys):
    _, out, _ = plan(capsys, repo, "--today", "2026-11-30", "--format", "json")
    document = json.loads(out)
    assert document["format_version"] == "1"
    assert [(s["action"], s["status"], s["not_before"]) for s in document["steps"]] == [
        ("add-licenses", "ready", None), ("remove-licenses", "blocked", "2026-12-01")]
    assert set(document["fingerprints"]) == {"desired", "current"}
    _, out, _ = plan(capsys, repo, "--today", "2026-11-30", "--format", "markdown")
    assert out.startswith(f"<!-- reconciler-plan:{repo} -->\n## reconciler plan for 2026-11-30 (Europe/Rome)")


def test_out_saves_the_plan_with_its_state_and_checksum(repo, tmp_path, capsys):
    target = tmp_path / "plans" / "umbrella.json"
    code, out, err = plan(capsys, repo, "--today", "2026-11-30", "--out", target)
    assert code == 0 and "Plan: 1 ready" in out and f"saved the plan to {target}" in err
    saved = json.loads(target.read_text())
    assert saved["checksum"] == checksum(saved)
    assert saved["recorded_state"]["customers"]["umbrella"]["pbxes"]["umbrella"]["licenses"]["essential"] == 25


def test_today_comes_from_the_flag_then_the_environment_then_the_clock(monkeypatch):
    monkeypatch.setenv("RECONCILER_TODAY", "2027-02-28")
    assert decide_today("2026-11-30", "UTC") == dt.date(2026, 11, 30)
    assert decide_today(None, "UTC") == dt.date(2027, 2, 28)
    monkeypatch.delenv("RECONCILER_TODAY")
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone.utc)
    assert decide_today(None, "Europe/Rome", late) == dt.date(2026, 12, 1)
    assert decide_today(None, "UTC", late) == dt.date(2026, 11, 30)


def test_a_bad_date_is_a_clear_error(repo, capsys):
    code, out, err = plan(capsys, repo, "--today", "30/11/2026")
    assert code == 1 and out == ""
    assert "error: --today must be a date as YYYY-MM-DD, not '30/11/2026'" in err


def test_invalid_desired_state_plans_nothing(repo, capsys):
    path = repo / "customers" / "umbrella.yaml"
    path.write_text(path.read_text().replace("essential: 20", "esential: 20"))
    code, out, err = plan(capsys, repo, "--today", "2026-11-30")
    assert code == 1 and out == ""
    assert "customers/umbrella.yaml:15:7: error[schema]: unknown key 'esential': did you mean 'essential'?" in err
    assert "nothing was planned" in err


def test_a_rule_error_prints_the_plan_and_exits_1(repo, capsys):
    path = repo / "customers" / "umbrella.yaml"
    text = path.read_text().replace("essential: 20 ", "essential: 0 ").replace("business: 10", "business: 0")
    path.write_text(text.replace("service: 2", "service: 0"))
    code, out, _ = plan(capsys, repo, "--today", "2026-12-01")
    assert code == 1
    assert "deletion-guard" in out


def test_state_flag_overrides_the_configured_provider(repo, tmp_path, capsys):
    moved = tmp_path / "elsewhere.yaml"
    shutil.move(repo / "state.yaml", moved)
    code, _, err = plan(capsys, repo, "--today", "2026-11-30")
    assert code == 1 and "state.yaml not found" in err
    assert plan(capsys, repo, "--today", "2026-11-30", "--state", moved)[0] == 0


def test_planning_one_file_leaves_other_customers_alone(tmp_path, capsys, monkeypatch):
    example = tmp_path / "ex"
    shutil.copytree(EXAMPLES / "unmanaged-and-overdue", example)
    monkeypatch.chdir(example)
    _, whole, _ = plan(capsys, "--today", "2026-11-22")
    assert "massive-dynamic" in whole  # unmanaged, reported when the whole repo is planned
    _, partial, _ = plan(capsys, "customers/soylent.yaml", "--today", "2026-11-22")
    assert "massive-dynamic" not in partial and "soylent" in partial


def test_colors_only_on_a_terminal_and_never_with_no_color(repo, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert "\033[" in plan(capsys, repo, "--today", "2026-11-30")[1]
    assert "\033[" not in plan(capsys, repo, "--today", "2026-11-30", "--no-color")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in plan(capsys, repo, "--today", "2026-11-30")[1]


def test_python_dash_m_runs_the_same_cli(repo):
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(repo), "--today", "2026-11-30"],
                            capture_output=True, text=True, env={"PATH": "", "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "Plan: 1 ready, 1 blocked until 2026-12-01, 0 manual." in result.stdout
    assert "\033[" not in result.stdout


@pytest.mark.parametrize("breakage, rule", [
    (("customers", "    region: eu-central\n", ""), "cloud-needs-region"),
    (("reconciler.yaml", "timezone: Europe/Rome", "timezone: Mars/Olympus"), "schema"),
    (("state.yaml", "as_of:", "as_of: [1]\nx:"), "schema"),
])
def test_json_on_invalid_input_is_one_document_with_no_steps_and_the_diagnostics(repo, capsys, breakage, rule):
    where, old, new = breakage
    for path in ([repo / where] if where != "customers" else sorted((repo / "customers").glob("*.yaml"))):
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    out_file = repo / "out" / "plan.json"
    code, out, err = plan(capsys, repo, "--today", "2026-11-30", "--format", "json", "--out", out_file)
    assert code == 1
    document = json.loads(out)
    assert json.loads(out_file.read_text()) == document
    assert document["steps"] == [] and document["format_version"] == "1"
    assert document["today"] == "2026-11-30"
    errors = [d for d in document["diagnostics"] if d["severity"] == "error"]
    assert errors and rule in {d["rule"] for d in errors}
    assert document["summary"]["errors"] == len(errors) and document["summary"]["steps"] == 0
    assert all(d["file"] and d["line"] for d in errors if d["rule"] != "schema" or where != "state.yaml")
    assert errors[0]["message"] in err  # stderr still says it, for a person
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(document, schema)


def test_json_on_a_missing_state_file_names_it(repo, capsys):
    code, out, _ = plan(capsys, repo, "--today", "2026-11-30", "--format", "json", "--state", repo / "nope.yaml")
    assert code == 1
    document = json.loads(out)
    assert document["steps"] == [] and document["summary"]["errors"] == 1
    assert "nope.yaml" in document["diagnostics"][0]["message"]
def test_the_portals_clock_blocks_a_decrease_on_its_last_day(repo, capsys):
    """portal.timezone: the repo's 2026-12-01 in Rome starts on 2026-11-30 in UTC, the portal's last day."""
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + "portal:\n  timezone: UTC\n")
    _, out, _ = plan(capsys, repo, "--today", "2026-12-01")
    assert out.rstrip().endswith("Plan: 1 ready, 1 blocked until 2026-12-02, 0 manual.")
    assert "2026-11-30 in the portal's timezone" in out
