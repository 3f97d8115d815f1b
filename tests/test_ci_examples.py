"""The CI examples (examples/ci/) and the pre-commit hook stay honest.

Every `reconciler` command they run is found (GitHub `run:` steps, GitLab `script:`
entries, the hook's `entry`), and its subcommand and every `--flag` it uses must appear
in `python -m reconciler SUBCOMMAND --help`; each file triggers when it should.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
GITHUB = CI / "github"
GITLAB_CI = CI / "gitlab" / ".gitlab-ci.yml"

YAML_FILES = sorted([*(p for p in CI.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()), HOOKS])
IDS = [str(p.relative_to(ROOT)) for p in YAML_FILES]

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


def _script_lines(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(entry) for entry in value]


def gitlab_jobs(document: dict) -> dict[str, dict]:
    return {name: job for name, job in document.items()
            if name not in GITLAB_RESERVED and not name.startswith(".") and isinstance(job, dict)
            and name != "default"}


def gitlab_scripts(document: dict) -> list[str]:
    sections = [document, document.get("default") or {}, *gitlab_jobs(document).values()]
    return [text for section in sections for key in ("before_script", "script", "after_script")
            for text in _script_lines(section.get(key))]


def hook_scripts(document: list) -> list[str]:
    return [" ".join([hook["entry"], *map(shlex.quote, hook.get("args") or [])]) for hook in document]


def scripts_of(path: Path) -> list[str]:
    document = load(path)
    if path == HOOKS:
        return hook_scripts(document)
    if path.name == ".gitlab-ci.yml":
        return gitlab_scripts(document)
    return github_scripts(document)


# --- finding the reconciler commands in shell text ------------------------------------------

def tokens(script: str) -> list[str]:
    """Shell tokens of `script`, line continuations joined, a newline kept as ';'."""
    words: list[str] = []
    for line in re.sub(r"\\\n", " ", script).splitlines():
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
    return [command for script in scripts_of(path) for command in reconciler_commands(script)]


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
    assert (GITHUB / "reconciler-plan.yml").is_file() and (GITHUB / "reconciler-apply.yml").is_file()
    assert GITLAB_CI.is_file() and HOOKS.is_file()
    for readme in (CI / "README.md", GITHUB / "README.md", CI / "gitlab" / "README.md"):
        assert readme.is_file(), f"{readme.relative_to(ROOT)} is missing"


@pytest.mark.parametrize("path", YAML_FILES, ids=IDS)
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


# --- GitHub Actions: triggers and the commands that matter ----------------------------------

def _on(document: dict) -> dict:
    triggers = document.get("on", document.get(True))  # `on` is a boolean key under YAML 1.1 loaders
    if isinstance(triggers, str):
        return {triggers: None}
    if isinstance(triggers, list):
        return dict.fromkeys(triggers)
    return triggers or {}


def test_github_plan_workflow_runs_on_pull_requests_and_saves_the_plan():
    path = GITHUB / "reconciler-plan.yml"
    assert "pull_request" in _on(load(path))
    commands = dict(commands_of(path))
    assert "validate" in commands
    assert {"--changed-since", "--format", "--out"} <= set(commands["plan"])


def test_github_plan_workflow_fetches_the_whole_history_for_changed_since():
    steps = [step for job in load(GITHUB / "reconciler-plan.yml")["jobs"].values() for step in job["steps"]]
    checkout = next(step for step in steps if str(step.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0


def test_github_apply_workflow_runs_on_push_to_main_one_at_a_time_and_applies_the_saved_plan():
    path = GITHUB / "reconciler-apply.yml"
    document = load(path)
    assert "main" in _on(document)["push"]["branches"]
    assert document["concurrency"]["group"] and document["concurrency"]["cancel-in-progress"] is False
    applies = [flags for subcommand, flags in commands_of(path) if subcommand == "apply"]
    assert applies and all("--auto-approve" not in flags for flags in applies)
    script = "\n".join(github_scripts(document))
    assert re.search(r"reconciler apply \S+\.json", script), "apply must carry out the saved plan, not re-plan"


# --- GitLab CI: rules, resource group -------------------------------------------------------

def _jobs_running(subcommand: str) -> list[dict]:
    return [job for job in gitlab_jobs(load(GITLAB_CI)).values()
            if any(sub == subcommand for text in _script_lines(job.get("script"))
                   for sub, _ in reconciler_commands(text))]


def _rule_conditions(job: dict) -> list[str]:
    return [re.sub(r"\s+", " ", rule.get("if", "")) for rule in job.get("rules") or []]


def test_gitlab_plan_job_runs_on_merge_requests_against_the_target_branch():
    jobs = _jobs_running("plan")
    assert jobs
    for job in jobs:
        assert any('$CI_PIPELINE_SOURCE == "merge_request_event"' in rule for rule in _rule_conditions(job))
        assert {"plan.json", "plan.md"} <= set(job["artifacts"]["paths"])
    commands = dict(commands_of(GITLAB_CI))
    assert {"--changed-since", "--format", "--out"} <= set(commands["plan"])
    assert "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" in "\n".join(gitlab_scripts(load(GITLAB_CI)))


def test_gitlab_apply_job_runs_on_the_default_branch_one_at_a_time():
    jobs = _jobs_running("apply")
    assert jobs
    for job in jobs:
        assert any("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rule for rule in _rule_conditions(job))
        assert job.get("resource_group")
        assert any(re.search(r"reconciler apply \S+\.json", text) for text in _script_lines(job["script"]))


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
