"""The pipeline a command runs in, read once from the CI's environment: for the comment's marker and footer.

The markdown comment ends with the commit it was planned from, a link to the run and how
the plan gets applied, so a reviewer reading a comment updated in place knows which push
it speaks of. GitHub Actions and GitLab CI name these in their own variables; outside CI
there is no run, and the footer says only how to apply. The renderer stays pure: this
module gives it plain values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

COMMIT_ENV = "RECONCILER_COMMIT"  # set it to name the commit yourself (GitHub: the pull request's head SHA)
REPORT_ENV = "RECONCILER_REPORT_URL"  # set it to link the HTML report where your pipeline keeps it


def commit(env: Mapping[str, str]) -> str | None:
    return env.get(COMMIT_ENV) or env.get("CI_COMMIT_SHA") or env.get("GITHUB_SHA") or None


def run_url(env: Mapping[str, str]) -> str | None:
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_PIPELINE_URL") or env.get("CI_JOB_URL") or None


def footer(plan_file: str | None, env: Mapping[str, str] | None = None) -> dict:
    """The footer's values: commit, run link, and how this plan is applied."""
    env = os.environ if env is None else env
    in_ci = bool(run_url(env))
    if plan_file and in_ci:
        how = f"merge to apply: the apply job runs `reconciler apply {plan_file} --replan`"
    elif plan_file:
        how = f"to apply: `reconciler apply {plan_file}`"
    else:
        how = "to apply: `reconciler apply` (or save it with `plan --out FILE`, then `reconciler apply FILE`)"
    return {"commit": commit(env), "run_url": run_url(env), "report_url": report_url(env), "apply": how}


def report_url(env: Mapping[str, str]) -> str | None:
    """Where the run keeps the HTML report (`plan.html`, uploaded by the example pipelines), if in CI.

    GitLab serves a job's artifact file at a known address; GitHub lists a run's artifacts on
    its page. RECONCILER_REPORT_URL names another place.
    """
    if env.get(REPORT_ENV):
        return env[REPORT_ENV]
    if env.get("CI_JOB_URL"):
        return f"{env['CI_JOB_URL']}/artifacts/file/plan.html"
    url = run_url(env)
    return f"{url}#artifacts" if url else None
