"""`reconciler apply` and the commands around it: the I/O edge over the apply engine.

- with a saved plan: lock, read, prove the plan still holds, carry it out (`apply_saved`);
- without one: lock, plan against the same provider, show the plan, ask (only `yes`
  proceeds; with no terminal to ask on, or under CI=true, only --auto-approve), carry it out.
Either way an unfinished earlier run is reported first; the plan made from the current
state is what continues it (level-based: re-planning is always safe).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.apply.engine import CrashPoint, apply_plan, run_token_for
from reconciler.apply.run import apply_saved
from reconciler.backends import backend_for
from reconciler.backends.session import apply_session, customer_ids, touched_customers
from reconciler.plan.saved import DESIRED_FILES
from reconciler.config import Config
from reconciler.apply.verify import PlanRejected
from reconciler.diagnostics import ReconcilerError, has_errors, quoted, sorted_diagnostics
from reconciler.paths import why_outside
from reconciler.providers import Executor
from reconciler.providers.select import DEFAULT_SANDBOX, provider_for
from reconciler.render import RENDERERS
from reconciler.fingerprint import fingerprint_inputs, fingerprint_paths, repo_relative
from reconciler.loader import Inputs
from reconciler.render.result import render_result
from reconciler.workflow import PlanRequest, decide_today, load_desired, make_plan

DEFAULT_PARALLELISM = 10  # Terraform's default

PROMPT = ("Do you want to perform these actions?\n"
          "  Only 'yes' will be accepted to approve.\n\n"
          "  Enter a value: ")


@dataclass(frozen=True)
class ApplyRequest:
    plan_file: str | None
    repo: str = "."
    today: str | None = None
    auto_approve: bool = False
    lock_timeout: float = 0.0
    color: bool = False
    replan: bool = False  # a saved plan that no longer holds: plan again today, apply only identical steps
    parallelism: int = DEFAULT_PARALLELISM
    workers: int = 1  # processes a plan may use (workflow.PlanRequest): the command line's cores


def executor_for(repo: Inputs) -> Executor:
    provider = provider_for(repo.config, repo.root)
    if not isinstance(provider, Executor):
        raise ReconcilerError(f"the {provider.name} provider is read-only: apply needs a portal to change "
                              "(provider kind 'sandbox' in reconciler.yaml, the default)")
    return provider


def can_prompt() -> bool:
    return sys.stdin.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")


def ask_yes(prompt: str = PROMPT) -> bool:
    try:
        return input(prompt).strip() == "yes"
    except EOFError:
        return False


def apply_command(request: ApplyRequest, confirm: Callable[[], bool] = ask_yes,
                  prompt_possible: Callable[[], bool] = can_prompt, crash_point: CrashPoint | None = None) -> int:
    """`reconciler apply`; `crash_point` is the crash tests' hook (apply.engine), None otherwise."""
    repo, _, diagnostics = load_desired([request.repo])
    if has_errors(diagnostics):
        raise ReconcilerError("the desired state is not valid; nothing was applied", sorted_diagnostics(diagnostics))
    provider = executor_for(repo)
    today = decide_today(request.today, repo.config.timezone)
    backend = backend_for(repo.config, provider.target)  # reports an earlier unfinished run once it holds the lock

    if request.plan_file:
        saved = read_saved_plan(Path(request.plan_file))
        files = saved_files(saved, repo)  # a partial plan: only its own files must be as they were
        desired = fingerprint_paths(files, repo.root) if files is not None else fingerprint_inputs(repo)

        def carry_out() -> int:
            outcome = apply_saved(saved, provider, today=today, lock_timeout=request.lock_timeout,
                                  desired_fingerprint=desired, parallelism=request.parallelism, backend=backend,
                                  replan=lambda plan: replan_saved(plan, request.repo, repo), crash_point=crash_point)
            print(render_result(outcome.result))
            return outcome.result.exit_code

        if request.replan:
            from reconciler.replan import apply_replanned

            return apply_replanned(saved, provider, backend, today=today,
                                   paths=covered_paths(saved, request.repo, repo), settings_root=request.repo,
                                   lock_timeout=request.lock_timeout, parallelism=request.parallelism,
                                   apply_saved_plan=carry_out)
        return carry_out()

    if not request.auto_approve and not prompt_possible():
        raise ReconcilerError("apply needs a confirmation and there is no terminal to ask on (or CI=true): "
                              "review the plan, then run apply with --auto-approve, or apply a saved plan "
                              "(plan --out FILE; apply FILE)")
    def plan():
        return make_plan(PlanRequest(paths=[request.repo], today=today.isoformat(), workers=request.workers),
                         provider=provider)

    with apply_session(backend, provider, "apply", request.lock_timeout,
                       lambda: touched_customers(plan().document, customer_ids(repo))) as session:
        planned = plan()
        document = planned.document
        session.check(document)
        sys.stdout.write(RENDERERS["text"](document, color=request.color))
        if planned.has_errors:
            print("\nThe plan has errors: nothing was applied.")
            return 1
        if not any(step["status"] == "ready" for step in document["steps"]):
            print("\nNothing to apply today.")
            return 0
        if not request.auto_approve:
            print()
            if not confirm():
                print("\nApply cancelled: nothing was changed.")
                return 1
        result = apply_plan(document, provider, today, session.journal, run_token=run_token_for(document),
                            parallelism=request.parallelism, crash_point=crash_point)
        session.finish(result, document, today)
    print()
    print(render_result(result))
    return result.exit_code


def replan_saved(saved: dict, repo_dir: str, repo: Inputs) -> list[dict]:
    """The steps the planner makes from the saved plan's own inputs: recorded state, desired files, date."""
    from reconciler.apply.proof import RecordedState, check_schema

    planned = make_plan(PlanRequest(paths=covered_paths(saved, repo_dir, repo), today=str(saved.get("today"))),
                        provider=RecordedState(check_schema(saved)))
    return planned.document["steps"]


def saved_files(saved: dict, repo: Inputs) -> list[str] | None:
    """A partial plan's files (repo-relative), None for a whole-repo plan; refused if one leaves the repo.

    A saved plan can be committed by a pull request: the files it names are read (hashed, planned
    again), so they must be the repo's own, as every path the repo names is (reconciler.paths).
    """
    files = saved.get(DESIRED_FILES)
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    root = repo.root or Path(".")
    for name in files:
        why = why_outside(root, name)
        if why is not None:
            raise PlanRejected(f"the saved plan names a desired-state file {quoted(name)} that {why}: nothing was "
                               "applied (a saved plan names only files inside its repo; plan again)")
    return files


def covered_paths(saved: dict, repo_dir: str, repo: Inputs) -> list[str]:
    """What a saved plan covered, to plan again: a partial plan's customer files (repo-relative), else the repo."""
    files = saved_files(saved, repo)
    if files is None:
        return [repo_dir]
    config = repo_relative(repo.config_path, repo.root) if repo.config_path else None
    root = repo.root or Path(".")
    return [str(root / f) for f in files if f != config] or [repo_dir]


def read_saved_plan(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReconcilerError(f"plan file {path} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcilerError(f"{path} is not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or "steps" not in data:
        raise ReconcilerError(f"{path} is not a saved plan (write one with `reconciler plan --out FILE`)")
    return data


def unlock_command(repo_dir: str, lock_id: str, force: bool = False) -> str:
    repo, _, _ = load_desired([repo_dir])
    provider = executor_for(repo)
    removed = backend_for(repo.config, provider.target).force_unlock(lock_id, force)
    return (f"unlocked {provider.target} (the lock of {removed.get('command', '?')}, pid {removed.get('pid', '?')}, "
            f"since {removed.get('since', '?')})")


def sandbox_for(repo_dir: str):
    """The repo's sandbox: the configured one, or the default file when the repo names another provider."""
    from reconciler.providers.sandbox import SandboxProvider

    repo, _, _ = load_desired([repo_dir])
    config: Config = repo.config
    root = repo.root or Path(".")
    path = config.provider.path if config.provider.kind == "sandbox" and config.provider.path else DEFAULT_SANDBOX
    return SandboxProvider(root / path), repo
