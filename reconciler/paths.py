"""Paths stay inside the repo: what a pull request can make the tool read is the repo, nothing else.

A pull request controls every file a CI plan reads. `price_book: /etc/shadow`, a `provider.path`
of `../../secrets`, or a customer file that is a symbolic link to a credentials file would make
the tool read files of the machine it runs on, and quote them in the comment. Every path the
repo names or holds is therefore resolved (symbolic links followed) and must stay inside the
repo root (rule `path-outside-repo`). A user who really keeps a file elsewhere sets
RECONCILER_ALLOW_OUTSIDE_REPO=1 in the environment, which a pull request does not control;
paths given on the command line (`--state FILE`) are the user's own and are not checked.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from reconciler.diagnostics import Diagnostic, Position, error, quoted

RULE = "path-outside-repo"
ALLOW_ENV = "RECONCILER_ALLOW_OUTSIDE_REPO"
HOW_TO_ALLOW = f"set {ALLOW_ENV}=1 to allow it"


def outside_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def within(path: Path, root: Path) -> bool:
    """Whether `path`, resolved, is `root` (resolved) or below it."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def relative_name(resolved: str, base: str) -> str:
    """A resolved path's name relative to the resolved repo root `base`, as a POSIX path; itself if outside it.

    String work only (the loader already knows both resolved paths): no `Path` and no stat per file.
    """
    if resolved == base:
        return "."
    prefix = below_prefix(base)
    return resolved[len(prefix):] if resolved.startswith(prefix) else resolved


def below_prefix(base: str) -> str:
    """What every path below the resolved folder `base` starts with: `base` and one slash."""
    return base if base.endswith("/") else base + "/"


def why_outside(root: Path, relative: str) -> str | None:
    """Why the path `relative` (as a configuration writes it) leaves the repo at `root`; None when it stays inside."""
    if outside_allowed():
        return None
    if PurePath(relative).is_absolute() or relative.startswith("~"):
        return "is an absolute path: paths in reconciler.yaml are relative to the repo root"
    if within(root / relative, root):
        return None
    if not Path(os.path.abspath(root / relative)).is_relative_to(os.path.abspath(root)):
        return "leads outside the repo ('..' climbs above its root)"
    return "leads outside the repo through a symbolic link"


def check_setting(root: Path, key: str, value: str | None, where: Position) -> list[Diagnostic]:
    """The `path-outside-repo` error of one setting of reconciler.yaml (`price_book`, `provider.path`), if any."""
    if not value:
        return []
    why = why_outside(root, value)
    if why is None:
        return []
    return [error(where, RULE, f"'{key}' ({quoted(value)}) {why}; the tool reads only files inside the repo "
                               f"({HOW_TO_ALLOW})")]


def outside_file(path: Path) -> Diagnostic:
    """The error for a file or folder of the repo that is a symbolic link leading out of it."""
    return error(Position(str(path)), RULE, "a symbolic link that leads outside the repo: not read "
                                            f"(the tool reads only files inside the repo; {HOW_TO_ALLOW})")
