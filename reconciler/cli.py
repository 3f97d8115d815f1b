"""The command line: parse arguments, call one function, map failures to exit codes in one place.

Exit codes (FORMAT.md section 5): 0 success or no changes; 1 an error (invalid input,
a rule error, a failed apply); 2 changes, with --detailed-exitcode. No traceback reaches
a user for bad input: `ReconcilerError` and OS errors become a message and exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from reconciler import __version__
from reconciler.diagnostics import ReconcilerError, Severity

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"  # set by GitHub Actions: a file whose markdown shows on the run's page
COMMENT_LIMIT = 65_536  # GitHub's limit on a comment's characters


def _cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.validate import validate_paths

    result = validate_paths(args.paths)
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
        for diagnostic in result.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        checked = f"{result.files} file{'s' if result.files != 1 else ''} checked"
        if errors:
            print(f"{checked}: {errors} error{'s' if errors != 1 else ''}.", file=sys.stderr)
        else:
            print(f"{checked}, {result.customers} customer{'s' if result.customers != 1 else ''}: all valid.",
                  file=sys.stderr)
    return EXIT_ERROR if errors else EXIT_OK


def _use_color(args: argparse.Namespace) -> bool:
    return sys.stdout.isatty() and not args.no_color and not os.environ.get("NO_COLOR")


def _cmd_plan(args: argparse.Namespace) -> int:
    from reconciler.plan.saved import saved_plan
    from reconciler.render import RENDERERS
    from reconciler.render.markdown import render as render_markdown
    from reconciler.workflow import PlanRequest, make_plan

    if args.comment_limit < 0:
        raise ReconcilerError("--comment-limit is a number of characters, 0 for no limit")
    limit = args.comment_limit or None
    try:
        result = make_plan(PlanRequest(paths=args.paths, state=args.state, today=args.today,
                                       changed_since=args.changed_since, drift=True))
    except ReconcilerError as exc:  # a pull request's comment and summary still say why nothing was planned
        _markdown_failure(args, exc, limit)
        raise
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        saved = saved_plan(result.document, result.current.model_dump(mode="json"), result.desired_files)
        out.write_text(RENDERERS["json"](saved), encoding="utf-8")
        print(f"saved the plan to {out}", file=sys.stderr)
    markdown = render_markdown(result.document, limit=limit) if args.format == "markdown" or _step_summary() else ""
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
    markdown = render_failure(str(exc), [d.to_dict() for d in exc.diagnostics], limit)
    if args.format == "markdown":
        sys.stdout.write(markdown)
    _append_step_summary(markdown)


def _step_summary() -> str | None:
    return os.environ.get(STEP_SUMMARY) or None


def _append_step_summary(markdown: str) -> None:
    """Under GitHub Actions, the run's summary page shows the plan too (appended: other steps write there)."""
    summary = _step_summary()
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def _cmd_export(args: argparse.Namespace) -> int:
    from reconciler.export import export
    from reconciler.workflow import decide_today, load_desired, read_current

    repo, _, _ = load_desired([args.repo])
    today = decide_today(args.today, repo.config.timezone)
    snapshot = read_current(repo, args.state, today)
    written, findings = export(snapshot, Path(args.out), schema_hint=args.schema)
    for finding in findings:
        print(f"{finding.format()} (as the portal holds it: choose the fix before planning)", file=sys.stderr)
    print(f"exported {len(snapshot.customers)} customer(s) as of {snapshot.as_of}: "
          f"{len(written)} file(s) in {args.out}", file=sys.stderr)
    return EXIT_OK


def _cmd_apply(args: argparse.Namespace) -> int:
    from reconciler.apply.command import ApplyRequest, apply_command

    return apply_command(ApplyRequest(plan_file=args.plan_file, repo=args.repo, today=args.today,
                                      auto_approve=args.auto_approve, lock_timeout=args.lock_timeout,
                                      color=_use_color(args)))


def _cmd_force_unlock(args: argparse.Namespace) -> int:
    from reconciler.apply.command import unlock_command

    print(unlock_command(args.repo, args.lock_id, force=args.force), file=sys.stderr)
    return EXIT_OK


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from reconciler.apply.command import sandbox_for
    from reconciler.export import dump
    from reconciler.providers.snapshot import SnapshotProvider
    from reconciler.workflow import decide_today

    sandbox, repo = sandbox_for(args.repo)
    if args.action == "load":
        snapshot = SnapshotProvider(Path(args.state)).read()
        sandbox.load(snapshot)
        print(f"loaded {args.state} into the sandbox {sandbox.target} "
              f"({len(snapshot.customers)} customer(s), as of {snapshot.as_of})", file=sys.stderr)
    elif args.action == "reset":
        sandbox.reset()
        print(f"reset the sandbox {sandbox.target}: no customers", file=sys.stderr)
    else:
        snapshot = sandbox.read(decide_today(args.today, repo.config.timezone))
        sys.stdout.write(dump(snapshot.model_dump(mode="python")))
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    from reconciler.backends.history import history_command

    sys.stdout.write(history_command(args.repo, args.customer, args.since, args.format))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.schema import write_all

    for path in write_all(Path(args.out)):
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Infrastructure as code for Wildix partners: plan and apply customers' PBXs, "
                    "licenses and HWaaS devices from YAML.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check desired-state files; no provider needed",
                                   description="Check desired-state files: a repo root, a directory or files. "
                                               "Every problem of every file is reported, with file, line and column.")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="repo roots, directories or files (default: .)")
    validate.add_argument("--format", choices=("text", "json"), default="text",
                          help="text (default) or json, for tools such as editors and CI annotations")
    validate.set_defaults(func=_cmd_validate)

    plan = commands.add_parser("plan", help="print the ordered change plan",
                               description="Diff the desired state against the portal, apply the portal's rules "
                                           "and print the ordered change plan.")
    plan.add_argument("paths", nargs="*", metavar="PATH",
                      help="the repo root (default: .), or customer files to plan only those")
    plan.add_argument("--state", metavar="FILE", help="read the current state from a snapshot file")
    plan.add_argument("--today", metavar="YYYY-MM-DD",
                      help="the date rules are judged on (default: today in the repo's timezone)")
    plan.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format")
    plan.add_argument("--out", metavar="FILE", help="also save the plan document (JSON) for apply")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when there are no changes, 1 on error, 2 when there are changes")
    plan.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    plan.add_argument("--changed-since", metavar="REF",
                      help="plan only the customers whose files changed since this Git ref (e.g. origin/main), "
                           "and the other side of their device transfers; deleted customer files are reported")
    plan.add_argument("--comment-limit", type=int, default=COMMENT_LIMIT, metavar="CHARS",
                      help=f"markdown: keep it within this many characters, a pull-request comment's limit "
                           f"(default: {COMMENT_LIMIT}, GitHub's; 0: no limit). Past it, the summary and the "
                           "customers with errors, warnings, blocked or manual steps are kept")
    plan.set_defaults(func=_cmd_plan)

    apply = commands.add_parser("apply", help="carry out a saved plan, or plan and ask for confirmation",
                                description="Carry out the ready steps of a saved plan (plan --out FILE), or plan "
                                            "the repo, show the plan and ask for confirmation. Blocked and manual "
                                            "steps are never carried out; they are listed at the end.")
    apply.add_argument("plan_file", nargs="?", metavar="PLAN_FILE", help="a plan saved with `plan --out`")
    apply.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    apply.add_argument("--today", metavar="YYYY-MM-DD", help="the date (default: today in the repo's timezone)")
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
                       help="wait this long for another apply's lock (default: 0, fail at once)")
    apply.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    apply.set_defaults(func=_cmd_apply)

    unlock = commands.add_parser("force-unlock", help="break a stale apply lock",
                                 description="Remove the apply lock with this ID (shown by the command that found "
                                             "it), e.g. after an apply was killed.")
    unlock.add_argument("lock_id", metavar="ID")
    unlock.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    unlock.add_argument("--force", action="store_true",
                        help="postgres backend: break the lease even though it is live (its apply renews it)")
    unlock.set_defaults(func=_cmd_force_unlock)

    sandbox = commands.add_parser("sandbox", help="load, reset or show the embedded sandbox portal",
                                  description="The sandbox: an emulation of the partner portal in a SQLite file "
                                              "(default .reconciler/sandbox.db), to rehearse before a real customer.")
    sandbox_actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = sandbox_actions.add_parser("load", help="replace the sandbox's content with a snapshot file")
    load.add_argument("state", metavar="STATE.yaml")
    reset = sandbox_actions.add_parser("reset", help="empty the sandbox: no customers")
    show = sandbox_actions.add_parser("show", help="print the sandbox's state as a snapshot")
    show.add_argument("--today", metavar="YYYY-MM-DD", help="the date to read it on (default: today)")
    for action in (load, reset, show):
        action.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    sandbox.set_defaults(func=_cmd_sandbox)

    export = commands.add_parser("export", help="write the portal's current state as files, for onboarding",
                                 description="Write the current state as a snapshot (state.yaml) and as one "
                                             "desired-state file per customer (customers/ID.yaml): planning them "
                                             "against the same portal yields no steps.")
    export.add_argument("repo", nargs="?", default=".", metavar="REPO",
                        help="the repo whose configuration names the provider (default: .)")
    export.add_argument("--out", default=".", metavar="DIR", help="where to write (default: the current directory)")
    export.add_argument("--state", metavar="FILE", help="read the current state from a snapshot file")
    export.add_argument("--today", metavar="YYYY-MM-DD", help="the date to read the portal on (default: today)")
    export.add_argument("--schema", metavar="URL", help="add a yaml-language-server $schema line to each file")
    export.set_defaults(func=_cmd_export)

    history = commands.add_parser("history", help="list past applies (from the backend)",
                                  description="List past applies from the configured backend: who, where, when, "
                                              "the plan's checksum, and the steps done, failed and skipped.")
    history.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    history.add_argument("--customer", metavar="ID", help="only the applies that touched this customer")
    history.add_argument("--since", metavar="YYYY-MM-DD", help="only the applies started on or after this date")
    history.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    history.set_defaults(func=_cmd_history)

    schema = commands.add_parser("schema", help="write the JSON Schemas of the file formats",
                                 description="Write the JSON Schemas (customer file, repo configuration) "
                                             "generated from the models.")
    schema.add_argument("--out", default="schemas", metavar="DIR", help="output directory (default: schemas)")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ReconcilerError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
