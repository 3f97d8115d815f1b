"""The GitOps loop on the sandbox portal: a plan merged on another day, deferred steps on their date, show.

The commands are the ones the example pipelines run (examples/ci/): `apply PLAN --replan`
after a merge, `apply --auto-approve` on the whole repo on a schedule, `show PLAN` for the
job summary, `validate --format github` for annotations.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.annotations import annotation
from reconciler.cli import main
from tests.conftest import EXAMPLES


@pytest.fixture
def portal(tmp_path, monkeypatch):
    """The last-day example on a sandbox whose clock is at `as_of`: +5 business (ready), -5 essential."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "last-day-decrease", root, ignore=shutil.ignore_patterns("README.md"))
    (root / "reconciler.yaml").write_text("timezone: Europe/Rome\n")  # the default provider: the sandbox
    monkeypatch.chdir(root)
    monkeypatch.delenv("RECONCILER_TODAY", raising=False)
    return root


def load(root, as_of: str) -> None:
    """Load the example's state into the sandbox, its clock at `as_of`."""
    state = (root / "state.yaml").read_text().replace("as_of: 2026-11-30", f"as_of: {as_of}")
    (root / "state.yaml").write_text(state)
    (root / ".gitignore").write_text(".reconciler/\n")  # the sandbox portal is not the repo's
    assert main(["sandbox", "load", "state.yaml"]) == 0


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def licenses(capsys, today: str, customer: str = "umbrella") -> dict:
    """The licenses the sandbox portal holds on `today` (its `sandbox show` snapshot)."""
    code, out, _ = run(capsys, "sandbox", "show", "--today", today)
    assert code == 0
    pbxes = YAML(typ="safe", pure=True).load(out)["customers"][customer]["pbxes"]
    return {name: {k: n for k, n in pbx["licenses"].items() if n} for name, pbx in pbxes.items()}


def test_a_plan_merged_the_next_day_with_the_same_steps_is_applied_with_replan(portal, capsys):
    load(portal, "2026-11-27")
    assert run(capsys, "plan", "--today", "2026-11-27", "--out", "plan.json")[0] == 0
    code, _, err = run(capsys, "apply", "plan.json", "--today", "2026-11-28")
    assert code == 1 and "the plan was made for 2026-11-27, today is 2026-11-28" in err  # bound to its date
    code, out, err = run(capsys, "apply", "plan.json", "--today", "2026-11-28", "--replan")
    assert code == 0, err
    assert "--replan: planning again on 2026-11-28" in err and "has the reviewed steps (2): applying it" in err
    assert licenses(capsys, "2026-11-28") == {"umbrella": {"business": 10, "essential": 20, "service": 2}}
    assert run(capsys, "plan", "--today", "2026-11-28", "--detailed-exitcode")[0] == 0


def test_replan_compares_steps_whatever_the_order_of_their_keys(portal, capsys):
    # a new customer: create-customer and create-pbx carry many fields; the saved plan's keys are sorted
    from tests.test_changed_since import UMBRELLA

    (portal / "customers" / "wayne.yaml").write_text(UMBRELLA.replace("umbrella", "wayne"))
    load(portal, "2026-11-27")
    assert run(capsys, "plan", "--today", "2026-11-27", "--out", "plan.json")[0] == 0
    code, _, err = run(capsys, "apply", "plan.json", "--today", "2026-11-28", "--replan")
    assert code == 0, err
    assert licenses(capsys, "2026-11-28", "wayne") == {"wayne": {"essential": 5}}


def test_a_plan_merged_on_a_day_its_steps_differ_is_refused_with_the_difference(portal, capsys):
    load(portal, "2026-11-29")
    assert run(capsys, "plan", "--today", "2026-11-29", "--out", "plan.json")[0] == 0
    code, out, err = run(capsys, "apply", "plan.json", "--today", "2026-11-30", "--replan")
    assert code == 1
    assert "today's plan differs from the reviewed one, so nothing was applied" in err
    assert "--- reviewed plan (2026-11-29)" in err and "+++ plan of today (2026-11-30)" in err
    assert "-umbrella/umbrella remove-licenses licenses.essential 25 -> 20 [ready]" in err
    assert "+umbrella/umbrella remove-licenses licenses.essential 25 -> 20 [blocked until 2026-12-01]" in err
    # nothing was applied, not even the ready step
    assert licenses(capsys, "2026-11-30") == {"umbrella": {"business": 5, "essential": 25, "service": 2}}


def test_replan_never_re_plans_an_altered_plan(portal, capsys):
    load(portal, "2026-11-27")
    assert run(capsys, "plan", "--today", "2026-11-27", "--out", "plan.json")[0] == 0
    saved = json.loads((portal / "plan.json").read_text())
    saved["steps"][0]["changes"] = {"licenses.business": [5, 50]}
    (portal / "plan.json").write_text(json.dumps(saved))
    code, _, err = run(capsys, "apply", "plan.json", "--today", "2026-11-28", "--replan")
    assert code == 1 and "altered" in err and "--replan: planning again" not in err


def test_the_scheduled_run_on_the_first_applies_the_decrease_deferred_from_the_thirtieth(portal, capsys):
    load(portal, "2026-11-30")
    assert run(capsys, "plan", "--today", "2026-11-30", "--out", "plan.json")[0] == 0
    assert run(capsys, "apply", "plan.json", "--today", "2026-11-30")[0] == 0  # the merge: the increase only
    assert licenses(capsys, "2026-11-30") == {"umbrella": {"business": 10, "essential": 25, "service": 2}}
    code, out, _ = run(capsys, "plan", "--today", "2026-11-30", "--due")
    assert code == 0 and "2026-12-01 (in 1 day)" in out and "remove-licenses" in out
    # the daily scheduled job, on the 1st: the whole repo, whatever became ready
    code, out, err = run(capsys, "apply", "--auto-approve", "--today", "2026-12-01")
    assert code == 0, err
    assert licenses(capsys, "2026-12-01") == {"umbrella": {"business": 10, "essential": 20, "service": 2}}
    assert run(capsys, "plan", "--today", "2026-12-01", "--detailed-exitcode")[0] == 0


def test_show_renders_a_saved_plan_in_every_format(portal, capsys):
    load(portal, "2026-11-30")
    _, json_plan, _ = run(capsys, "plan", "--today", "2026-11-30", "--format", "json")
    _, text_plan, _ = run(capsys, "plan", "--today", "2026-11-30", "--out", "plan.json")
    assert run(capsys, "show", "plan.json") == (0, text_plan, "")
    code, out, _ = run(capsys, "show", "plan.json", "--format", "json")
    assert code == 0 and json.loads(out) == json.loads(json_plan)  # the plan, without the recorded state
    code, out, _ = run(capsys, "show", "plan.json", "--format", "markdown")
    assert out.startswith("<!-- reconciler-plan:. -->\n## reconciler plan for 2026-11-30 (Europe/Rome)")
    assert run(capsys, "show", "missing.json")[0] == 1


def test_the_comment_has_its_marker_and_ends_with_commit_run_and_how_to_apply(portal, capsys, monkeypatch):
    load(portal, "2026-11-30")
    for name, value in {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "partner/gitops",
                        "GITHUB_RUN_ID": "42", "RECONCILER_COMMIT": "0123456789abcdef0123"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, out, _ = run(capsys, "plan", ".", "--today", "2026-11-30", "--format", "markdown", "--out", "plan.json")
    assert code == 0 and out.startswith("<!-- reconciler-plan:. -->\n")
    assert out.rstrip().endswith("planned from `0123456789ab` · [run](https://github.example/partner/gitops/"
                                 "actions/runs/42) · [HTML report with the timeline](https://github.example/"
                                 "partner/gitops/actions/runs/42#artifacts) · merge to apply: the apply job runs "
                                 "`reconciler apply plan.json --replan`")
    assert "blocked steps are applied by the scheduled run on their date: 2026-12-01 (1 step)" in out


def test_the_comment_links_the_html_report_where_gitlab_keeps_it():
    from reconciler.cicontext import footer

    env = {"CI_JOB_URL": "https://gitlab.example/partner/gitops/-/jobs/7", "CI_COMMIT_SHA": "abc"}
    assert footer("plan.json", env)["report_url"] == \
        "https://gitlab.example/partner/gitops/-/jobs/7/artifacts/file/plan.html"
    assert footer("plan.json", {**env, "RECONCILER_REPORT_URL": "https://reports.example/1"})["report_url"] == \
        "https://reports.example/1"
    assert footer("plan.json", {})["report_url"] is None  # outside CI: no run, no link


def test_validate_github_prints_annotations_at_file_line_and_column(portal, capsys):
    customer = portal / "customers" / "umbrella.yaml"
    customer.write_text(customer.read_text().replace("term: 1y", "trem: 1y"))
    code, out, err = run(capsys, "validate", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=customers/umbrella.yaml,line=13,col=5,title=schema::unknown key 'trem'")
    assert "customers/umbrella.yaml:13:5: error[schema]" in err  # the log keeps the readable form


def test_an_annotation_escapes_its_message_and_calls_info_a_notice():
    line = annotation({"severity": "info", "rule": "no-refund", "message": "100% paid\nuntil: 2027",
                       "file": "a,b:c.yaml", "line": 3})
    assert line == "::notice file=a%2Cb%3Ac.yaml,line=3,title=no-refund::100%25 paid%0Auntil: 2027"


# Three quick merges; GitHub's concurrency group cancels the middle apply run (one running, one
# pending: a third replaces the pending one). The apply job's commands, run for the first and
# third merges only, still land all three changes.

def three_customers(root) -> None:
    from tests.test_changed_since import UMBRELLA, UMBRELLA_STATE

    (root / "customers").mkdir(parents=True)
    state = "as_of: 2026-11-22\ncustomers:\n"
    for n, name in enumerate(("alpha", "beta", "gamma")):
        (root / "customers" / f"{name}.yaml").write_text(UMBRELLA.replace("umbrella", name))
        state += UMBRELLA_STATE.replace("umbrella", name).replace("SW-00099999", f"SW-0009999{n}")
    (root / "state.yaml").write_text(state)
    (root / ".gitignore").write_text(".reconciler/\n")  # the sandbox portal is not the repo's


def apply_job(capsys, saved, between=lambda: None) -> None:
    """The apply workflow's commands after a merge: the reviewed plan (--replan), then the whole repo."""
    code, _, err = run(capsys, "apply", str(saved), "--replan", "--repo", ".", "--lock-timeout", "600",
                       "--today", TODAY)
    assert code == 0, err
    between()
    code, _, err = run(capsys, "apply", "--repo", ".", "--auto-approve", "--lock-timeout", "600", "--today", TODAY)
    assert code == 0, err


TODAY = "2026-11-22"


def test_three_quick_merges_with_the_middle_apply_cancelled_lose_no_change(tmp_path, capsys, monkeypatch):
    from tests.test_changed_since import commit, edit, git

    root = tmp_path / "gitops"
    three_customers(root)
    git(root, "init", "-q")
    commit(root, "three customers")
    main_branch = git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    monkeypatch.chdir(root)
    assert main(["sandbox", "load", "state.yaml"]) == 0
    plans = tmp_path / "plans"
    wanted = {"alpha": 6, "beta": 7, "gamma": 8}
    for number, (name, essential) in enumerate(wanted.items(), start=1):  # three pull requests, each planned
        git(root, "checkout", "-q", "-b", f"pr{number}", main_branch)
        edit(root / "customers" / f"{name}.yaml", "essential: 5", f"essential: {essential}")
        commit(root, f"{name}: {essential} essential")
        assert main(["plan", "--changed-since", main_branch, "--today", TODAY, "--out", str(plans / f"{number}.json")]) == 0
        git(root, "checkout", "-q", main_branch)
    capsys.readouterr()

    def merge(number: int) -> None:
        git(root, "merge", "-q", "--no-ff", "-m", f"merge pull request {number}", f"pr{number}")

    def essential(name: str) -> int:
        return licenses(capsys, TODAY, name)[name]["essential"]

    merge(1)
    apply_job(capsys, plans / "1.json")
    merge(2)
    merge(3)  # the second apply run is cancelled: only the third runs, on the third merge's commit

    def after_the_reviewed_plan() -> None:
        assert (essential("alpha"), essential("beta"), essential("gamma")) == (6, 5, 8)  # the middle one waits

    apply_job(capsys, plans / "3.json", between=after_the_reviewed_plan)  # its whole-repo step lands the middle
    assert {name: essential(name) for name in wanted} == wanted
    assert run(capsys, "plan", "--today", TODAY, "--detailed-exitcode")[0] == 0


def test_replan_of_a_partial_plan_reads_the_settings_of_its_repo_directory(tmp_path, monkeypatch):
    # a partner-wide Git repo with the GitOps repo in a subdirectory: --replan plans the saved plan's
    # own files, run from the Git root (as the pipelines run it), with that directory's reconciler.yaml
    from reconciler.apply.command import covered_paths
    from reconciler.workflow import load_desired

    root = tmp_path / "gitops"
    shutil.copytree(EXAMPLES / "last-day-decrease", root, ignore=shutil.ignore_patterns("README.md"))
    monkeypatch.chdir(tmp_path)
    files = covered_paths({"desired_files": ["customers/umbrella.yaml", "reconciler.yaml"]},  # repo-relative
                          "gitops", load_desired(["gitops"])[0])
    assert [Path(f).resolve() for f in files] == [root / "customers" / "umbrella.yaml"]
    repo, complete, problems = load_desired(files, "gitops")
    assert not complete and not problems and repo.config.timezone == "Europe/Rome"
    assert load_desired(files)[0].config.timezone == "UTC"  # the working directory's: none
