"""`validate`, `plan` and `show`: read the files, plan them, render a plan (a saved one, for show).

A failed plan still writes what a pipeline shows (the comment, the job summary, the JSON
document of the failure) before the error reaches `main`. Each command imports what it uses
inside its function, so the others start without it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    _append_step_summary,
    _comment_frame,
    _step_summary,
    _use_color,
    _write_plan_file,
)
from reconciler.diagnostics import ReconcilerError, Severity

if TYPE_CHECKING:
    from reconciler.unchanged import Ahead


def _cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.forked import cores
    from reconciler.validate import validate_paths

    result = validate_paths(args.paths, workers=cores())
    errors = sum(1 for d in result.diagnostics if d.severity is Severity.ERROR)
    if args.format == "json":
        document = {
            "files": result.files,
            "customers": result.customers,
            "errors": errors,
            "diagnostics": [d.to_dict() for d in result.diagnostics],
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        if args.format == "github":  # workflow commands on stdout: GitHub shows each on its file's line
            from reconciler.annotations import annotation

            print("\n".join(annotation(d.to_dict()) for d in result.diagnostics), end="\n" * bool(result.diagnostics))
        for diagnostic in result.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        checked = f"{result.files} file{'s' if result.files != 1 else ''} checked"
        if errors:
            print(f"{checked}: {errors} error{'s' if errors != 1 else ''}.", file=sys.stderr)
        else:
            print(f"{checked}, {result.customers} customer{'s' if result.customers != 1 else ''}: all valid.",
                  file=sys.stderr)
    return EXIT_ERROR if errors else EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    from reconciler.forked import cores
    from reconciler.unchanged import Ahead

    if args.comment_limit < 0:
        raise ReconcilerError("--comment-limit is a number of characters, 0 for no limit")
    workers = cores()
    # before the planner is imported: a copy finds which of a big repo's files are unchanged meanwhile
    ahead = Ahead.start(args.paths, workers) if not args.changed_since else None
    try:
        return _plan(args, ahead, workers)
    finally:
        if ahead is not None:
            ahead.stop()


def _plan(args: argparse.Namespace, ahead: Ahead | None, workers: int) -> int:
    from reconciler.plan.saved import saved_plan
    from reconciler.render import RENDERERS
    from reconciler.render.markdown import render as render_markdown
    from reconciler.workflow import PlanRequest, make_plan

    limit = args.comment_limit or None
    try:
        result = make_plan(PlanRequest(paths=args.paths, state=args.state, today=args.today,
                                       changed_since=args.changed_since, drift=True, workers=workers, ahead=ahead))
    except ReconcilerError as exc:  # a pull request's comment and summary still say why nothing was planned
        _markdown_failure(args, exc, limit)
        _json_failure(args, exc)
        raise
    if args.out:
        out = Path(args.out)
        root = args.paths[0] if len(args.paths) == 1 and Path(args.paths[0]).is_dir() else "."
        saved = saved_plan(result.document, result.current.model_dump(mode="json"), result.desired_files,
                           repo_root=Path(os.path.relpath(Path(root).resolve(), out.parent.resolve())).as_posix())
        _write_plan_file(out, RENDERERS["json"](saved))
    markdown = (render_markdown(result.document, limit=limit, **_comment_frame(args.paths, args.out))
                if (args.format == "markdown" or _step_summary()) and not _touches_no_customer(args, result) else "")
    if args.due:
        from reconciler.render.due import render as render_due

        sys.stdout.write(render_due(result.document))
    else:
        sys.stdout.write(markdown if args.format == "markdown"
                         else RENDERERS[args.format](result.document, color=_use_color(args)))
    _append_step_summary(markdown)
    if result.has_errors:
        return EXIT_ERROR
    if args.detailed_exitcode and result.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def _markdown_failure(args: argparse.Namespace, exc: ReconcilerError, limit: int | None) -> None:
    from reconciler.render.markdown import render_failure

    if args.format != "markdown" and not _step_summary():
        return
    markdown = render_failure(str(exc), [d.to_dict() for d in exc.diagnostics], limit,
                              directory=_comment_frame(args.paths, args.out)["directory"])
    if args.format == "markdown":
        sys.stdout.write(markdown)
    _append_step_summary(markdown)


def _touches_no_customer(args: argparse.Namespace, result) -> bool:
    """--changed-since found no customer file changed (nor the settings): no comment, the markdown is empty."""
    from reconciler.config import CONFIG_FILE

    files = [f for f in result.desired_files or [] if Path(f).name != CONFIG_FILE]
    return bool(args.changed_since) and result.desired_files is not None and not files and not any(
        d["severity"] != "info" for d in result.document["diagnostics"])


def _cmd_show(args: argparse.Namespace) -> int:
    from reconciler.apply.command import read_saved_plan
    from reconciler.plan.saved import plan_document
    from reconciler.render import RENDERERS

    document = plan_document(read_saved_plan(Path(args.plan_file)))
    if args.format == "markdown":
        text = RENDERERS["markdown"](document, limit=args.comment_limit or None,
                                     **_comment_frame([args.repo], args.plan_file))
    else:
        text = RENDERERS[args.format](document, color=_use_color(args))
    sys.stdout.write(text)
    return EXIT_OK


def _json_failure(args: argparse.Namespace, exc: ReconcilerError) -> None:
    """`--format json` and `--out` get the plan document of the failure: no steps, the diagnostics (FORMAT.md 6)."""
    from reconciler.render import RENDERERS

    document = getattr(exc, "document", None)
    if document is None:
        return
    if args.out:
        _write_plan_file(Path(args.out), RENDERERS["json"](document), "the plan document (nothing was planned)")
    if args.format == "json":
        sys.stdout.write(RENDERERS["json"](document))
