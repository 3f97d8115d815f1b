"""What the commands share: exit codes, colors, the job summary, the comment's frame, the plan file.

The command modules import these; nothing here imports a command, so the package has no
import cycle (the parser imports the commands, `main` imports the parser).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"  # set by GitHub Actions: a file whose markdown shows on the run's page
COMMENT_LIMIT = 65_536  # GitHub's limit on a comment's characters


def _use_color(args: argparse.Namespace) -> bool:
    """--no-color and NO_COLOR turn colors off; FORCE_COLOR turns them on where stdout is no terminal (CI logs)."""
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR", "0") not in ("", "0")) or sys.stdout.isatty()


def _comment_frame(paths: list[str], plan_file: str | None) -> dict:
    """The markdown comment's marker (the repo directory planned) and footer (commit, run, how to apply)."""
    from reconciler.cicontext import footer

    directory = paths[0] if len(paths) == 1 and Path(paths[0]).is_dir() else "."
    return {"directory": directory, "footer": footer(plan_file)}


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
