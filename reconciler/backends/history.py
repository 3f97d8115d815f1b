"""`reconciler history`: the past applies a backend holds, as text for people or JSON for tools."""

from __future__ import annotations

import json

from reconciler.backends import Backend, backend_for


def history_command(repo_dir: str, customer: str | None, since: str | None, output: str) -> str:
    from reconciler.apply.command import executor_for
    from reconciler.workflow import load_desired, parse_date

    if since is not None:
        since = parse_date(since, "--since").isoformat()
    repo, _, _ = load_desired([repo_dir])
    backend = backend_for(repo.config, executor_for(repo).target)
    try:
        entries = backend.history(customer=customer, since=since)
    finally:
        backend.close()
    return render_history(entries, output, backend)


def render_history(entries: list[dict], output: str, backend: Backend) -> str:
    if output == "json":
        return json.dumps({"backend": backend.name, "applies": entries}, indent=2, sort_keys=True) + "\n"
    if not entries:
        return f"No applies in the {backend.name} backend's history.\n"
    lines = []
    for e in entries:
        lines.append(f"{e.get('started')}  {e.get('outcome')}  run {e.get('run')}  plan {e.get('plan')}")
        lines.append(f"    by {e.get('user')} on {e.get('host')} (pid {e.get('pid')}, {e.get('command')}), "
                     f"finished {e.get('finished') or 'never'}")
        lines.append(f"    customers: {', '.join(e.get('customers') or []) or 'none'}; done {_n(e, 'done')}, "
                     f"failed {_n(e, 'failed')}, skipped {_n(e, 'skipped')}")
    return "\n".join(lines) + "\n"


def _n(entry: dict, key: str) -> str:
    value = entry.get(key)
    return "?" if value is None else str(value)
