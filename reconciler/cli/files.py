"""`export`, `fmt` and `schema`: the commands that write files for a partner's repo and editor.

export writes the portal's state as a repo, fmt rewrites customer files in the canonical
form, schema writes the JSON Schemas editors check the files with. Each command imports what
it uses inside its function, so the others start without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconciler.cli.common import EXIT_ERROR, EXIT_OK


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


def _cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.schema import write_all

    for path in write_all(Path(args.out)):
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK
