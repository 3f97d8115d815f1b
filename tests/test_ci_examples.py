"""The CI examples (examples/ci/) and the pre-commit hook stay honest.

Every `reconciler` command they run is found (GitHub `run:` steps and the `with:` of
steps that use reconciler's own action, GitLab `script:` entries, the hook's `entry`), and
its subcommand and every `--flag` it uses must appear in `python -m reconciler SUBCOMMAND
--help`; each file triggers when it should; every workflow passes the GitHub and GitLab
schemas (check-jsonschema's built-in ones, no network); the callers of the reusable
workflows pass only the inputs and secrets those declare; and the GitHub workflows install
reconciler with the action (action.yml) instead of install steps of their own.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
ACTION = ROOT / "action.yml"
ACTION_USES = "YOUR-ORG/reconciler@v1"  # what a partner's workflow names: their copy of this repository, by tag
HOOKS = ROOT / ".pre-commit-hooks.yaml"
GITHUB = CI / "github"
GITLAB_CI = CI / "gitlab" / "reconciler.gitlab-ci.yml"  # the template every GitOps repo includes
GITLAB_INCLUDER = CI / "gitlab" / ".gitlab-ci.yml"
CALLERS = sorted((GITHUB / "callers").glob("*.yml"))
REUSABLE = {name: GITHUB / name for name in ("reconciler-plan.yml", "reconciler-apply.yml", "reconciler-schedule.yml")}

YAML_FILES = sorted([*(p for p in CI.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()), HOOKS])
IDS = [str(p.relative_to(ROOT)) for p in YAML_FILES]
RUNNERS = [p for p in YAML_FILES if p not in CALLERS and p != GITLAB_INCLUDER]  # the files with commands of their own

# where a new command starts (after one of these tokens, or at the start of a line)
COMMAND_START = {"|", "||", "&&", ";", "&", "(", ")", "!", "if", "then", "else", "elif", "do", "while",
                 "until", "time", "exec", "$(", "`"}
REDIRECT = re.compile(r"^[0-9]*(>|>>|<|<<|<<<|>&|<&|&>|&>>|>\|)$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# GitLab job keys that are not jobs
GITLAB_RESERVED = {"stages", "variables", "workflow", "include", "image", "services", "cache",
                   "before_script", "after_script", "types", "pages:deploy"}


def load(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


# --- collecting the shell text of each file -------------------------------------------------

def github_scripts(document: dict) -> list[str]:
    return [step["run"] for job in (document.get("jobs") or {}).values()
            for step in job.get("steps") or [] if isinstance(step, dict) and "run" in step]


def action_steps(document: dict) -> list[dict]:
    """The steps of a workflow that use reconciler's own action."""
    return [step for job in (document.get("jobs") or {}).values() for step in job.get("steps") or []
            if isinstance(step, dict) and step.get("uses") in (ACTION_USES, "./")]


def action_command(step: dict) -> str | None:
    """The command line the action runs for a step (its `run` step: `reconciler -C DIR COMMAND ARGS`), None for install."""
    inputs = step.get("with") or {}
    command = inputs.get("command", load(ACTION)["inputs"]["command"]["default"])
    if command == "install":
        return None
    return f"reconciler {command} {inputs.get('args', '')}"


def _script_lines(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(entry) for entry in value]


def gitlab_jobs(document: dict) -> dict[str, dict]:
    return {name: job for name, job in document.items()
            if name not in GITLAB_RESERVED and not name.startswith(".") and isinstance(job, dict)
            and name != "default"}


def gitlab_templates(document: dict) -> list[dict]:
    """The hidden jobs (`.name`) that jobs extend."""
    return [job for name, job in document.items() if name.startswith(".") and isinstance(job, dict)]


def gitlab_scripts(document: dict) -> list[str]:
    sections = [document, document.get("default") or {}, *gitlab_templates(document), *gitlab_jobs(document).values()]
    return [text for section in sections for key in ("before_script", "script", "after_script")
            for text in _script_lines(section.get(key))]


def hook_scripts(document: list) -> list[str]:
    return [" ".join([hook["entry"], *map(shlex.quote, hook.get("args") or [])]) for hook in document]


def scripts_of(path: Path) -> list[str]:
    document = load(path)
    if path == HOOKS:
        return hook_scripts(document)
    if path.name.endswith(".gitlab-ci.yml"):
        return gitlab_scripts(document)
    return github_scripts(document)


# --- finding the reconciler commands in shell text ------------------------------------------

HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


def _without_heredocs(script: str) -> list[str]:
    """The lines of `script` with each here-document's body left out (it is another program's text)."""
    lines, end = [], None
    for line in script.splitlines():
        if end is not None:
            end = None if line.strip() == end else end
            continue
        lines.append(line)
        found = HEREDOC.search(line)
        end = found.group(1) if found else None
    return lines


def tokens(script: str) -> list[str]:
    """Shell tokens of `script`, line continuations joined, here-documents left out, a newline kept as ';'."""
    words: list[str] = []
    for line in _without_heredocs(re.sub(r"\\\n", " ", script)):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"  # a comment ends at the end of its line
        words += [*lexer, ";"]
    return words


def _is_reconciler(token: str) -> bool:
    return token == "reconciler" or token.endswith("/reconciler")


def reconciler_commands(script: str) -> list[tuple[str, list[str]]]:
    """(subcommand, [--flags]) of each `reconciler ...` or `python -m reconciler ...` in `script`."""
    words = tokens(script)
    found = []
    at_start = True
    for index, word in enumerate(words):
        if at_start and ASSIGNMENT.match(word):
            continue  # VAR=value before a command
        start = index + 1 if at_start and _is_reconciler(word) else None
        if at_start and re.search(r"(^|/)python[0-9.]*$", word) and words[index + 1:index + 3] == ["-m", "reconciler"]:
            start = index + 3
        if start is not None:
            found.append(_command_at(words, start))
        at_start = word in COMMAND_START
    return found


def _command_at(words: list[str], start: int) -> tuple[str, list[str]]:
    subcommand, flags = (words[start] if start < len(words) else ""), []
    index = start + 1
    while index < len(words) and words[index] not in COMMAND_START:
        word = words[index]
        if REDIRECT.match(word):
            index += 2  # the redirection and its target
            continue
        if word.startswith("-") and word != "-":
            flags.append(word.split("=", 1)[0])
        index += 1
    return subcommand, flags


def commands_of(path: Path) -> list[tuple[str, list[str]]]:
    """The reconciler commands of a file in the order they run: a workflow's action steps and run steps as they come."""
    document = load(path)
    if path == HOOKS or path.name.endswith(".gitlab-ci.yml"):
        return [command for script in scripts_of(path) for command in reconciler_commands(script)]
    found = []
    for job in (document.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if step in action_steps(document):
                line = action_command(step)
                found += [_command_at(tokens(line), 1)] if line else []
            elif isinstance(step, dict) and "run" in step:
                found += reconciler_commands(step["run"])
    return found


@functools.cache
def help_of(subcommand: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", subcommand, "--help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


# --- the parser itself ----------------------------------------------------------------------

def test_command_parser_handles_continuations_redirects_variables_and_chains():
    script = ('set -e\nNO_COLOR=1 reconciler plan --changed-since "origin/$BASE" \\\n'
              '  --format=markdown --out plan.json > plan.md 2>&1 && .venv/bin/reconciler validate # --not-this\n'
              'echo "reconciler apply --nope" | python3 -m reconciler apply plan.json --auto-approve')
    assert reconciler_commands(script) == [
        ("plan", ["--changed-since", "--format", "--out"]),
        ("validate", []),
        ("apply", ["--auto-approve"]),
    ]


# --- every file: its reconciler commands exist ----------------------------------------------

def test_the_ci_examples_and_the_hook_file_exist():
    assert all(path.is_file() for path in REUSABLE.values())
    assert {path.name for path in CALLERS} == {"partner-wide.yml", "one-customer.yml"}
    assert GITLAB_CI.is_file() and GITLAB_INCLUDER.is_file() and HOOKS.is_file()
    for readme in (CI / "README.md", GITHUB / "README.md", CI / "gitlab" / "README.md"):
        assert readme.is_file(), f"{readme.relative_to(ROOT)} is missing"


@pytest.mark.parametrize("path", RUNNERS, ids=[str(p.relative_to(ROOT)) for p in RUNNERS])
def test_every_file_runs_at_least_one_reconciler_command(path):
    assert commands_of(path), f"no reconciler command found in {path.relative_to(ROOT)}"


@pytest.mark.parametrize("path", YAML_FILES, ids=IDS)
def test_every_reconciler_subcommand_and_flag_used_exists_in_its_help(path):
    problems = []
    for subcommand, flags in commands_of(path):
        result = help_of(subcommand)
        if result.returncode != 0:
            problems.append(f"`reconciler {subcommand}` is not a subcommand: {result.stderr.strip()[-300:]}")
            continue
        for flag in flags:
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", result.stdout):
                problems.append(f"`reconciler {subcommand}` has no {flag} (not in its --help)")
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


# --- schemas: what GitHub and GitLab accept ---------------------------------------------------

def _check_jsonschema(schema: str, paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def test_github_workflows_pass_the_github_workflow_schema():
    paths = [*REUSABLE.values(), *CALLERS]
    result = _check_jsonschema("vendor.github-workflows", paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_files_pass_the_gitlab_ci_schema():
    result = _check_jsonschema("vendor.gitlab-ci", [GITLAB_CI, GITLAB_INCLUDER])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = load(REUSABLE["reconciler-plan.yml"])
    broken["jobs"]["plan"]["timeout-minutes"] = "soon"
    broken["jobs"]["plan"]["no-such-key"] = True
    path = tmp_path / "broken.yml"
    path.write_text(json.dumps(broken))
    assert _check_jsonschema("vendor.github-workflows", [path]).returncode != 0


# --- GitHub Actions: the callers, the reusable workflows they call ----------------------------

def _on(document: dict) -> dict:
    triggers = document.get("on", document.get(True))  # `on` is a boolean key under YAML 1.1 loaders
    if isinstance(triggers, str):
        return {triggers: None}
    if isinstance(triggers, list):
        return dict.fromkeys(triggers)
    return triggers or {}


def _steps(path: Path) -> list[dict]:
    return [step for job in load(path)["jobs"].values() for step in job.get("steps") or []]


def _job(path: Path) -> dict:
    (job,) = load(path)["jobs"].values()
    return job


def _called(uses: str) -> Path:
    """The reusable workflow a caller's `uses:` names (local or the central repo's, pinned)."""
    match = re.fullmatch(r"(?:\./|[\w-]+/[\w.-]+/)\.github/workflows/([\w.-]+\.yml)(?:@[\w.-]+)?", uses)
    assert match, f"not a reusable workflow reference: {uses}"
    return GITHUB / match.group(1)


@pytest.mark.parametrize("caller", CALLERS, ids=[p.name for p in CALLERS])
def test_callers_pass_only_declared_inputs_and_secrets(caller):
    for name, job in load(caller)["jobs"].items():
        called = _called(job["uses"])
        assert called.is_file(), f"{caller.name}: job {name} calls {called.name}, which is not in examples/ci/github"
        declared = _on(load(called))["workflow_call"]
        assert set(job.get("with") or {}) <= set(declared.get("inputs") or {}), f"{caller.name}: {name}"
        assert set(job.get("secrets") or {}) <= set(declared.get("secrets") or {}), f"{caller.name}: {name}"


@pytest.mark.parametrize("caller", CALLERS, ids=[p.name for p in CALLERS])
def test_callers_plan_pull_requests_and_the_merge_queue_apply_pushes_and_run_daily(caller):
    document = load(caller)
    triggers = _on(document)
    assert {"pull_request", "merge_group", "push", "schedule"} <= set(triggers)
    assert triggers["push"]["branches"] == ["main"]
    assert {"customers/**", "*.yaml", "*.csv"} <= set(triggers["push"]["paths"])  # the price book too
    assert triggers["schedule"][0]["cron"]
    routes = {_called(job["uses"]).name: job["if"] for job in document["jobs"].values()}
    assert "'pull_request'" in routes["reconciler-plan.yml"] and "'merge_group'" in routes["reconciler-plan.yml"]
    assert "'push'" in routes["reconciler-apply.yml"] and "'schedule'" in routes["reconciler-schedule.yml"]


def test_one_customer_repos_call_the_central_repo_pinned_and_the_partner_wide_repo_its_own_copy():
    one = [job["uses"] for job in load(GITHUB / "callers" / "one-customer.yml")["jobs"].values()]
    wide = [job["uses"] for job in load(GITHUB / "callers" / "partner-wide.yml")["jobs"].values()]
    assert all(re.fullmatch(r"[\w-]+/reconciler-ci/\.github/workflows/[\w-]+\.yml@v\d+", uses) for uses in one)
    assert all(uses.startswith("./.github/workflows/") for uses in wide)
    assert len((GITHUB / "callers" / "one-customer.yml").read_text().splitlines()) <= 40  # a few lines


@pytest.mark.parametrize("name", sorted(REUSABLE))
def test_reusable_workflows_install_reconciler_with_its_action_and_are_called_only(name):
    path = REUSABLE[name]
    document = load(path)
    assert set(_on(document)) == {"workflow_call"}
    steps = _steps(path)
    (installs,) = action_steps(document)  # one action step: it installs, the later steps find reconciler
    runs_reconciler = [i for i, step in enumerate(steps) if "run" in step and reconciler_commands(step["run"])]
    assert runs_reconciler and steps.index(installs) < runs_reconciler[0]
    assert set(installs["with"]) <= set(load(ACTION)["inputs"])
    assert installs["with"]["python-version"] == "${{ inputs.python-version }}"
    # no install steps of their own: the action sets up Python, caches pip and installs its own tag
    # (the one cache of their own is reconciler's parse cache, never pip's)
    assert not [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert all(_parse_cache(s) for s in steps if str(s.get("uses", "")).startswith("actions/cache"))
    assert "pip install" not in "\n".join(github_scripts(document)) and "RECONCILER_PACKAGE" not in path.read_text()


def _parse_cache(step: dict) -> bool:
    """An actions/cache step that keeps reconciler's parse cache of the directory, and nothing else."""
    return step.get("with", {}).get("path") == "${{ inputs.directory }}/.reconciler/cache"


@pytest.mark.parametrize("name", ["reconciler-apply.yml", "reconciler-schedule.yml"])
def test_whole_repo_plans_restore_the_parse_cache_before_reconciler_runs(name):
    """apply and the schedule plan the whole repo: the cache keyed by each file's content makes that re-plan cheap."""
    steps = _steps(REUSABLE[name])
    (cache,) = [i for i, step in enumerate(steps) if _parse_cache(step)]
    runs_reconciler = [i for i, step in enumerate(steps) if "run" in step and reconciler_commands(step["run"])]
    assert str(steps[cache]["uses"]).startswith("actions/cache@") and cache < runs_reconciler[0]
    assert "hashFiles" in steps[cache]["with"]["key"] and steps[cache]["with"]["restore-keys"]


def test_the_action_step_commands_are_checked_like_run_lines(tmp_path):
    workflow = {"on": "push", "jobs": {"a": {"steps": [
        {"uses": ACTION_USES, "with": {"command": "install"}},
        {"uses": ACTION_USES, "with": {"args": "--detailed-exitcode --out=plan.json"}},
        {"run": "reconciler show plan.json --format markdown"},
        {"uses": ACTION_USES, "with": {"command": "apply", "directory": "repo", "args": "plan.json --replan"}}]}}}
    path = tmp_path / "workflow.yml"
    path.write_text(json.dumps(workflow))
    assert commands_of(path) == [("plan", ["--detailed-exitcode", "--out"]), ("show", ["--format"]),
                                 ("apply", ["--replan"])]


def test_the_action_runs_reconciler_with_a_global_flag_and_commands_that_exist():
    (step,) = [s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "run"]
    line = next(line for line in step["run"].splitlines() if line.strip().startswith("reconciler "))
    assert line.split()[:4] == ["reconciler", "-C", '"$RECONCILER_DIRECTORY"', '"$RECONCILER_COMMAND"']
    assert re.search(r"(?<![\w-])-C DIR", subprocess.run([sys.executable, "-m", "reconciler", "--help"],
                                                        capture_output=True, text=True, timeout=60).stdout)
    (allowed,) = re.findall(r"^\s*([a-z|]+)\) ;;$", step["run"], re.M)
    for command in allowed.split("|"):
        assert help_of(command).returncode == 0, command


def test_plan_workflow_plans_from_the_merge_base_with_the_read_only_token():
    path = REUSABLE["reconciler-plan.yml"]
    job = _job(path)
    assert "environment" not in job  # no write token on a pull request
    assert job["env"]["RECONCILER_PORTAL_TOKEN"] == "${{ secrets.RECONCILER_PORTAL_READ_TOKEN }}"
    assert "merge_group.base_sha" in job["env"]["BASE"]
    checkout = next(s for s in _steps(path) if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    commands = dict(commands_of(path))
    assert {"--changed-since", "--format", "--out"} <= set(commands["plan"])
    assert commands["validate"] == ["--format"]
    (validate,) = action_steps(load(path))  # the annotations name files from the repo's root: no -C
    assert validate["with"]["command"] == "validate" and "directory" not in validate["with"]
    assert validate["with"]["args"] == "${{ inputs.directory }} --format github"


def test_plan_workflow_keeps_one_comment_found_by_its_marker_and_never_posts_an_empty_plan():
    (comment,) = [s for s in _steps(REUSABLE["reconciler-plan.yml"]) if "comment" in s.get("name", "").lower()]
    script = comment["run"]
    assert script.lstrip().startswith("[ -s plan.md ] ||")
    assert 'marker="<!-- reconciler-plan:$DIR -->"' in script
    assert "--method PATCH" in script and "issues/comments/$id" in script  # edited in place


def test_apply_workflow_applies_the_reviewed_plan_with_replan_then_reconciles_the_whole_repo():
    path = REUSABLE["reconciler-apply.yml"]
    job = _job(path)
    assert job["concurrency"]["group"] and job["concurrency"]["cancel-in-progress"] is False
    assert job["environment"] == "portal"
    assert job["env"]["RECONCILER_PORTAL_TOKEN"] == "${{ secrets.RECONCILER_PORTAL_TOKEN }}"
    applies = [flags for sub, flags in commands_of(path) if sub == "apply"]
    assert applies[0][:1] == ["--replan"] and "--auto-approve" not in applies[0]  # the reviewed plan first
    assert "--auto-approve" in applies[-1]  # then whatever is ready in the whole repo
    script = "\n".join(github_scripts(load(path)))
    assert re.search(r"reconciler apply \S+\.json --replan", script)
    assert "reconciler show reviewed/plan.json --format markdown" in script  # not cat plan.md
    assert 'if [ "$RECONCILE" = review ]' in script and "gh pr comment" in script


def test_schedule_workflow_applies_what_became_ready_and_reports_drift_in_one_issue():
    path = REUSABLE["reconciler-schedule.yml"]
    job = _job(path)
    assert job["concurrency"]["group"] == _job(REUSABLE["reconciler-apply.yml"])["concurrency"]["group"]
    commands = commands_of(path)
    assert ("apply", ["--repo", "--auto-approve", "--lock-timeout", "--no-color"]) in commands
    assert any(sub == "plan" and "--due" in flags for sub, flags in commands)
    script = "\n".join(github_scripts(load(path)))
    assert 'marker="<!-- reconciler-drift:$DIR -->"' in script
    assert "gh issue edit" in script and "gh issue create" in script and "gh issue close" in script


# --- GitLab CI: the template, the include -----------------------------------------------------

def _jobs_running(subcommand: str) -> list[dict]:
    return [job for job in gitlab_jobs(load(GITLAB_CI)).values()
            if any(sub == subcommand for text in _script_lines(job.get("script"))
                   for sub, _ in reconciler_commands(text))]


def _rule_conditions(job: dict) -> list[str]:
    return [re.sub(r"\s+", " ", rule.get("if", "")) for rule in job.get("rules") or []]


def test_gitlab_repo_pipeline_includes_the_central_template():
    (include,) = load(GITLAB_INCLUDER)["include"]
    assert include["file"].lstrip("/") == GITLAB_CI.name and include["ref"]


def test_gitlab_plan_job_runs_on_merge_requests_with_the_read_only_token():
    jobs = gitlab_jobs(load(GITLAB_CI))
    job = jobs["plan"]
    assert any('$CI_PIPELINE_SOURCE == "merge_request_event"' in rule for rule in _rule_conditions(job))
    assert {"plan.json", "plan.md"} <= set(job["artifacts"]["paths"])
    assert job["variables"]["RECONCILER_PORTAL_TOKEN"] == "$RECONCILER_PORTAL_READ_TOKEN"
    (planned,) = [flags for text in job["script"] for sub, flags in reconciler_commands(text) if sub == "plan"]
    assert {"--changed-since", "--format", "--out"} <= set(planned)
    note = "\n".join(job["after_script"])
    assert '[ -s plan.md ]' in note and '"PUT" if found else "POST"' in note  # the note updated in place


def test_gitlab_apply_job_finds_merged_results_plans_applies_with_replan_then_reconciles():
    document = load(GITLAB_CI)
    job = gitlab_jobs(document)["apply"]
    assert any("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rule for rule in _rule_conditions(job))
    assert job["resource_group"] and job["interruptible"] is False and job["environment"] == "portal"
    script = "\n".join(job["script"])
    assert "/merge_requests/{iid}/pipelines" in script  # merge-request and merged-results pipelines alike
    applies = [flags for text in job["script"] for sub, flags in reconciler_commands(text) if sub == "apply"]
    assert applies[0][:1] == ["--replan"] and "--auto-approve" in applies[-1]
    assert "merge_requests/{iid}/notes" in "\n".join(job["after_script"])  # the result, back to the merge request


def test_gitlab_scheduled_job_applies_what_became_ready_and_fails_on_drift():
    document = load(GITLAB_CI)
    job = gitlab_jobs(document)["scheduled"]
    assert _rule_conditions(job) == ['$CI_PIPELINE_SOURCE == "schedule"']
    assert job["resource_group"] == gitlab_jobs(document)["apply"]["resource_group"]
    commands = [c for text in job["script"] for c in reconciler_commands(text)]
    assert ("plan", ["--due", "--no-color"]) in commands
    assert any(sub == "apply" and "--auto-approve" in flags for sub, flags in commands)
    caches = [cache["paths"] for cache in document[".reconciler"]["cache"]]
    assert document["variables"]["PIP_CACHE_DIR"] and caches == [[".cache/pip"], ["$RECONCILER_DIRECTORY/.reconciler/cache/"]]

# --- pre-commit -----------------------------------------------------------------------------

def test_pre_commit_hook_validates_the_whole_repo_when_customer_files_change():
    (hook,) = [h for h in load(HOOKS) if h["id"] == "reconciler-validate"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert shlex.split(hook["entry"]) == ["reconciler", "validate"]
    files = re.compile(hook["files"])
    for staged in ("customers/acme.yaml", "customers/eu/globex.yml", "reconciler.yaml", "acme.yaml"):
        assert files.search(staged), staged
    for ignored in ("README.md", "plans/acme.json", "docs/notes.yaml"):
        assert not files.search(ignored), ignored
