"""`apply`, `force-unlock` and `history`: the commands that change the portal or read what changed it.

Apply itself lives in reconciler/apply/; here are only the arguments, and finding the repo
a saved plan belongs to when it is applied from elsewhere. Each command imports what it uses
inside its function, so the others start without it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from reconciler.cli.common import EXIT_OK, _use_color
from reconciler.diagnostics import ReconcilerError


def _looks_like_repo(directory: Path) -> bool:
    from reconciler.config import CONFIG_FILE
    from reconciler.repo import CUSTOMERS_DIR

    return (directory / CONFIG_FILE).is_file() or (directory / CUSTOMERS_DIR).is_dir()


def _to_plan_repo(args: argparse.Namespace) -> None:
    """apply PLAN_FILE run outside the repo: go to the repo the saved plan names, or say how to get there."""
    from reconciler.plan.saved import REPO_ROOT

    if not args.plan_file or args.repo != "." or _looks_like_repo(Path(".")):
        return
    plan_file = Path(args.plan_file).resolve()
    try:
        recorded = json.loads(plan_file.read_text(encoding="utf-8")).get(REPO_ROOT)
    except (OSError, ValueError, AttributeError):
        return  # apply itself says what is wrong with the file
    root = (plan_file.parent / recorded).resolve() if isinstance(recorded, str) else None
    if root is None or not _looks_like_repo(root):
        raise ReconcilerError(f"{os.getcwd()} is not the repo of {args.plan_file}: "
                              "run from the repo root or pass -C DIR")
    print(f"the plan belongs to the repo at {root}: applying there", file=sys.stderr)
    os.chdir(root)
    args.plan_file = str(plan_file)


def _cmd_apply(args: argparse.Namespace) -> int:
    from reconciler.apply.command import ApplyRequest, apply_command
    from reconciler.forked import cores

    _to_plan_repo(args)
    return apply_command(ApplyRequest(plan_file=args.plan_file, repo=args.repo, today=args.today,
                                      auto_approve=args.auto_approve, lock_timeout=args.lock_timeout,
                                      color=_use_color(args), replan=args.replan, parallelism=args.parallelism,
                                      workers=cores()))


def _cmd_force_unlock(args: argparse.Namespace) -> int:
    from reconciler.apply.command import unlock_command

    print(unlock_command(args.repo, args.lock_id, args.force), file=sys.stderr)
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    from reconciler.backends.history import history_command

    sys.stdout.write(history_command(args.repo, args.customer, args.since, args.format))
    return EXIT_OK
