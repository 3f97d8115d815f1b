"""The command line: parse arguments, call one function, map failures to exit codes in one place.

Exit codes (FORMAT.md section 5): 0 success or no changes; 1 an error (invalid input,
a rule error, a failed apply, a usage error); 2 changes, with --detailed-exitcode. No traceback reaches
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
from reconciler.gcpause import paused_gc

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


def _use_color(args: argparse.Namespace) -> bool:
    """--no-color and NO_COLOR turn colors off; FORCE_COLOR turns them on where stdout is no terminal (CI logs)."""
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR", "0") not in ("", "0")) or sys.stdout.isatty()


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


def _comment_frame(paths: list[str], plan_file: str | None) -> dict:
    """The markdown comment's marker (the repo directory planned) and footer (commit, run, how to apply)."""
    from reconciler.cicontext import footer

    directory = paths[0] if len(paths) == 1 and Path(paths[0]).is_dir() else "."
    return {"directory": directory, "footer": footer(plan_file)}


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


def _write_plan_file(out: Path, text: str, what: str = "the plan") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"saved {what} to {out}", file=sys.stderr)


def _step_summary() -> str | None:
    return os.environ.get(STEP_SUMMARY) or None


def _append_step_summary(markdown: str) -> None:
    """Under GitHub Actions, the run's summary page shows the plan too (appended: other steps write there)."""
    summary = _step_summary()
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def _cmd_export(args: argparse.Namespace) -> int:
    from reconciler.export import export, outside_notes, repo_config
    from reconciler.workflow import decide_today, load_desired, read_current

    repo, _, _ = load_desired([args.repo])
    today = decide_today(args.today, repo.config.timezone)
    snapshot = read_current(repo, args.state, today)
    out, root = Path(args.out), repo.root or Path(".")
    keep = out.resolve() == root.resolve() and repo.config_path  # exporting into the repo itself: its own stays
    config = None if keep else repo_config(repo.config, root, out, args.state)
    written, findings = export(snapshot, out, schema_hint=args.schema, config=config)
    for finding in findings:
        print(f"{finding.format()} (as the portal holds it: choose the fix before planning)", file=sys.stderr)
    for note in outside_notes(config or {}, out):
        print(note, file=sys.stderr)
    print(f"exported {len(snapshot.customers)} customer(s) as of {snapshot.as_of}: "
          f"{len(written)} file(s) in {args.out}", file=sys.stderr)
    return EXIT_OK


def _cmd_fmt(args: argparse.Namespace) -> int:
    from reconciler.fmt import files_to_format, format_file

    problems, changed = [], []
    for path in files_to_format(args.paths):
        formatted, found = format_file(path)
        problems += found
        if formatted is None or not formatted.changed:
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.write(formatted.diff())
        if not args.check:
            path.write_text(formatted.after, encoding="utf-8")
        print(path, file=sys.stdout if not args.diff else sys.stderr)
    for diagnostic in problems:
        print(diagnostic.format(), file=sys.stderr)
    if args.check and changed:
        print(f"{len(changed)} file(s) not in the canonical form: run `reconciler fmt`", file=sys.stderr)
    return EXIT_ERROR if problems or (args.check and changed) else EXIT_OK


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

    _to_plan_repo(args)
    return apply_command(ApplyRequest(plan_file=args.plan_file, repo=args.repo, today=args.today,
                                      auto_approve=args.auto_approve, lock_timeout=args.lock_timeout,
                                      color=_use_color(args), replan=args.replan, parallelism=args.parallelism))


def _cmd_force_unlock(args: argparse.Namespace) -> int:
    from reconciler.apply.command import unlock_command

    print(unlock_command(args.repo, args.lock_id, args.force), file=sys.stderr)
    return EXIT_OK


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from reconciler.apply.command import sandbox_for
    from reconciler.apply.lock import acquire
    from reconciler.export import dump
    from reconciler.providers.snapshot import SnapshotProvider
    from reconciler.workflow import decide_today, parse_date

    sandbox, repo = sandbox_for(args.repo)
    if args.action == "serve":
        return _serve(args, sandbox)
    if args.action == "load":
        snapshot = SnapshotProvider(Path(args.state)).read()
        with acquire(sandbox.target, "sandbox load", provider=sandbox.name):  # never under a running apply
            sandbox.load(snapshot)
        print(f"loaded {args.state} into the sandbox {sandbox.target} "
              f"({len(snapshot.customers)} customer(s), as of {snapshot.as_of})", file=sys.stderr)
    elif args.action == "reset":
        with acquire(sandbox.target, "sandbox reset", provider=sandbox.name):
            sandbox.reset()
        print(f"reset the sandbox {sandbox.target}: no customers", file=sys.stderr)
    elif args.action == "advance":
        to = parse_date(args.to, "--to")
        with acquire(sandbox.target, "sandbox advance", provider=sandbox.name):
            sandbox.advance(to)
        print(f"moved the sandbox {sandbox.target}'s clock to {to}: renewals and deletions up to it happened",
              file=sys.stderr)
    else:
        snapshot = sandbox.read(decide_today(args.today, repo.config.timezone))
        sys.stdout.write(json.dumps(snapshot.model_dump(mode="json"), indent=2) + "\n" if args.format == "json"
                         else dump(snapshot.model_dump(mode="python")))
    return EXIT_OK


def _serve(args: argparse.Namespace, sandbox) -> int:
    from reconciler.api.auth import load_tokens
    from reconciler.api.faults import parse_faults
    from reconciler.api.server import serve

    tokens, faults = load_tokens(args.tokens), parse_faults(args.fault)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ReconcilerError("--tls-cert and --tls-key go together: the certificate and its private key (PEM)")
    scheme = "https" if args.tls_cert else "http"
    print(f"serving the sandbox {sandbox.target} at {scheme}://{args.host}:{args.port}/v1 "
          f"({len(tokens)} token(s); Ctrl-C stops)", file=sys.stderr, flush=True)
    serve(sandbox.path, tokens, args.host, args.port, latency_ms=args.latency_ms, faults=faults,
          fault_delay=args.fault_delay, tls=(args.tls_cert, args.tls_key) if args.tls_cert else None)
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 (as Terraform's): 2 means "changes" with --detailed-exitcode."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")
def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    from reconciler.render import RENDERERS  # `show` offers every registered format

    parser = _Parser(
        prog="reconciler",
        description="Infrastructure as code for Wildix partners: plan and apply customers' PBXs, "
                    "licenses and HWaaS devices from YAML.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    parser.add_argument("-C", "--chdir", metavar="DIR",
                        help="switch to DIR before anything else, as if run there (Terraform's -chdir)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check desired-state files; no provider needed",
                                   description="Check desired-state files: a repo root, a directory or files. "
                                               "Every problem of every file is reported, with file, line and column.")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="repo roots, directories or files (default: .)")
    validate.add_argument("--format", choices=("text", "json", "github"), default="text",
                          help="text (default); json, for tools such as editors; github: GitHub Actions "
                               "annotations (::error file=...,line=...,col=...::...) on stdout, the text on stderr")
    validate.set_defaults(func=_cmd_validate)

    plan = commands.add_parser("plan", help="print the ordered change plan",
                               description="Diff the desired state against the portal, apply the portal's rules "
                                           "and print the ordered change plan.")
    plan.add_argument("paths", nargs="*", metavar="PATH",
                      help="the repo root (default: .), or customer files to plan only those")
    plan.add_argument("--state", metavar="FILE", help="read the current state from a snapshot file")
    plan.add_argument("--today", metavar="YYYY-MM-DD",
                      help="the date rules are judged on (default: today in the repo's timezone)")
    plan.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text", help="output format")
    plan.add_argument("--out", metavar="FILE", help="also save the plan document (JSON) for apply")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when there are no changes, 1 on error, 2 when there are changes")
    plan.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    plan.add_argument("--changed-since", metavar="REF",
                      help="plan only the customers whose files changed since this Git ref (e.g. origin/main), "
                           "and the other side of their device transfers; deleted customer files are reported. "
                           "Compared with the merge base of REF and HEAD, as a pull request's diff is. When no "
                           "customer file changed, the markdown is empty (a pipeline posts no comment)")
    plan.add_argument("--due", action="store_true",
                      help="print the blocked steps by the date they become ready (what a daily scheduled "
                           "apply will do, and when) instead of the plan")
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
    apply.add_argument("--parallelism", type=_positive, default=10, metavar="N",
                       help="carry out up to N independent steps at once on a portal over the network (default: "
                            "10); a customer's steps keep their order, transfers wait for both sides")
    apply.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    apply.add_argument("--replan", action="store_true",
                       help="with PLAN_FILE: if the saved plan no longer holds (made on another day, or the portal "
                            "changed since), plan again today and apply only if the steps are the reviewed ones "
                            "(ids and costs aside); otherwise refuse and show the difference")
    apply.set_defaults(func=_cmd_apply)

    show_plan = commands.add_parser("show", help="render a saved plan",
                               description="Render a plan saved with `plan --out FILE`, in any plan format: "
                                           "what a pipeline shows of the plan it applies.")
    show_plan.add_argument("plan_file", metavar="PLAN_FILE", help="a plan saved with `plan --out`")
    show_plan.add_argument("--format", choices=sorted(RENDERERS), default="text", help="output format")
    show_plan.add_argument("--repo", default=".", metavar="DIR", help="markdown: the repo directory its marker names "
                                                                 "(default: .)")
    show_plan.add_argument("--comment-limit", type=int, default=COMMENT_LIMIT, metavar="CHARS",
                      help=f"markdown: keep it within this many characters (default: {COMMENT_LIMIT}; 0: no limit)")
    show_plan.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    show_plan.set_defaults(func=_cmd_show)

    unlock = commands.add_parser("force-unlock", help="break a stale apply lock",
                                 description="Remove the apply lock with this ID (shown by the command that found "
                                             "it), e.g. after an apply was killed.")
    unlock.add_argument("lock_id", metavar="ID")
    unlock.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    unlock.add_argument("--force", action="store_true",
                        help="break the lock even when its holder is still running on this host (postgres: "
                             "even though its lease is live)")
    unlock.set_defaults(func=_cmd_force_unlock)

    sandbox = commands.add_parser("sandbox", help="load, reset, show, advance or serve the embedded sandbox portal",
                                  description="The sandbox: an emulation of the partner portal in a SQLite file "
                                              "(default .reconciler/sandbox.db), to rehearse before a real customer.")
    sandbox_actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = sandbox_actions.add_parser("load", help="replace the sandbox's content with a snapshot file",
                                      description="Replace everything the sandbox holds with the customers, stock "
                                                  "and partner account of a snapshot file (FORMAT.md section 4), "
                                                  "e.g. one written by `reconciler export`.")
    load.add_argument("state", metavar="STATE.yaml")
    reset = sandbox_actions.add_parser("reset", help="empty the sandbox: no customers")
    show = sandbox_actions.add_parser("show", help="print the sandbox's state as a snapshot",
                                      description="Print what the sandbox holds on a date, as a snapshot: YAML that "
                                                  "`sandbox load` and `plan --state` read, or JSON for scripts.")
    show.add_argument("--today", metavar="YYYY-MM-DD", help="the date to read it on (default: today)")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml", help="yaml (default) or json")
    advance = sandbox_actions.add_parser("advance", help="move the sandbox's clock forward for good",
                                         description="Let time pass in the sandbox: renewals and the deletion "
                                                     "schedule up to DATE happen in the file (reads never do).")
    advance.add_argument("--to", required=True, metavar="YYYY-MM-DD", help="the portal's new date")
    serve = sandbox_actions.add_parser("serve", help="serve the sandbox over HTTP (the portal API, /v1)",
                                       description="Serve the sandbox as a portal over HTTP, for the http provider. "
                                                   "Tokens (read:TOKEN, write:TOKEN) come from --tokens FILE or "
                                                   "the RECONCILER_SERVE_TOKENS variable.")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8377, help="the port (default: 8377)")
    serve.add_argument("--tokens", metavar="FILE", help="the tokens file (default: RECONCILER_SERVE_TOKENS)")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (with --tls-key)")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                       help="add this much latency to every request, as a distant portal has")
    serve.add_argument("--fault", action="append", default=[], metavar="KIND[:COUNT]",
                       help="make the next COUNT step requests fail: 503, 429, drop-after-commit, timeout-after-commit "
                            "(rehearsals and tests; repeatable)")
    serve.add_argument("--fault-delay", type=float, default=10.0, metavar="SECONDS",
                       help="how long timeout-after-commit holds the answer (default: 10)")
    for action in (load, reset, show, advance, serve):
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

    fmt = commands.add_parser("fmt", help="rewrite customer files and reconciler.yaml in the canonical form",
                              description="Rewrite customer files and reconciler.yaml in one canonical form (keys "
                                          "in FORMAT.md's order, license profiles in a fixed order, block style), "
                                          "keeping comments. Prints the files it changed.")
    fmt.add_argument("paths", nargs="*", metavar="PATH",
                     help="files, or repo roots: their reconciler.yaml and customer files (default: .)")
    fmt.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 and name the files that are not in the canonical form")
    fmt.add_argument("--diff", action="store_true", help="print the changes as a unified diff")
    fmt.set_defaults(func=_cmd_fmt)
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

    completion = commands.add_parser("completion", help="print the shell completion script",
                                     description="Print the completion script for bash, zsh or fish; install it "
                                                 "with one command (see the examples).")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    completion.set_defaults(func=lambda args: _cmd_completion(args, parser))
    _finish(commands)
    return parser


EXAMPLES = {  # the end of each command's --help, by the command's words after `reconciler`
    "validate": ["reconciler validate", "reconciler validate customers/acme.yaml", "reconciler validate --format json"],
    "plan": ["reconciler plan", "reconciler plan --out plans/today.json --detailed-exitcode",
             "reconciler plan --changed-since origin/main --format markdown"],
    "apply": ["reconciler apply plans/today.json", "reconciler apply --auto-approve",
              "reconciler -C partner-repo apply plans/today.json"],
    "force-unlock": ["reconciler force-unlock 1f2e3d4c"],
    "show": ["reconciler show plans/today.json", "reconciler show plans/today.json --format markdown"],
    "sandbox load": ["reconciler sandbox load examples/new-cloud-customer/state.yaml"],
    "sandbox reset": ["reconciler sandbox reset"],
    "sandbox show": ["reconciler sandbox show", "reconciler sandbox show --format json --today 2026-11-22"],
    "sandbox advance": ["reconciler sandbox advance --to 2026-12-15"],
    "sandbox serve": ["reconciler sandbox serve --tokens tokens.txt",
                      "reconciler sandbox serve --port 8377 --tokens tokens.txt --latency-ms 100"],
    "export": ["reconciler export --out onboarded", "reconciler export --state state.yaml --out onboarded"],
    "fmt": ["reconciler fmt", "reconciler fmt --check --diff", "reconciler fmt customers/acme.yaml"],
    "history": ["reconciler history", "reconciler history --customer acme --since 2026-11-01 --format json"],
    "schema": ["reconciler schema", "reconciler schema --out /tmp/schemas"],
    "completion": ["reconciler completion bash > ~/.local/share/bash-completion/completions/reconciler",
                   'reconciler completion zsh > "${fpath[1]}/_reconciler"',
                   "reconciler completion fish > ~/.config/fish/completions/reconciler.fish"],
}


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped as usual; the examples at the end kept line by line."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)


def _finish(commands) -> None:
    """What every command has in common: --no-color, and two or three examples at the end of --help."""
    for command in commands.choices.values():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _finish(nested[0])
            continue
        if "--no-color" not in command._option_string_actions:
            command.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
        command.formatter_class = _HelpFormatter
        words = command.prog.split(" ", 1)[1]
        if words in EXAMPLES:
            command.epilog = "examples:\n" + "".join(f"  {line}\n" for line in EXAMPLES[words])


def _cmd_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import shtab

    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _chdir(directory: str) -> None:
    """-C DIR: every path of the command, and the repo itself, is then relative to DIR."""
    try:
        os.chdir(directory)
    except OSError as exc:
        raise ReconcilerError(f"-C {directory}: {exc.strerror or exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.chdir:
            _chdir(args.chdir)
        with paused_gc():  # the one switch of the collector: a run makes millions of objects and no cycles
            code = args.func(args)
        sys.stdout.flush()  # here, not at exit: a reader that went away is a closed pipe, below
        return code
    except BrokenPipeError:  # `reconciler validate --format json | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to write at exit
        return EXIT_ERROR
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
