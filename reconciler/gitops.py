"""What changed in a GitOps repo since a Git ref: the files `plan --changed-since REF` plans.

Git is asked four things, all from the repo's directory (which may sit anywhere inside
the Git work tree): that REF names a commit, where the branch left it (`git merge-base REF
HEAD`), which files differ between that merge base and the work tree (committed changes and
uncommitted edits alike), and which files are new and not yet added (`git ls-files
--others`). Paths come back relative to the repo's directory; files outside it are not its
business.

The merge base, not REF itself: a branch made before a colleague's change reached main
holds that customer's file as it was. Compared with main directly, the branch would plan
reverting the colleague's change (and call a customer added on main "deleted"); compared
with the point the branch left main, it plans only what the branch itself changes, as
`git diff main...branch` and a pull request's "Files changed" tab show it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.diagnostics import ReconcilerError


@dataclass(frozen=True)
class Changes:
    """The files of one repo directory that differ from REF (paths relative to that directory)."""

    commit: str  # the full id of the merge base of the ref and HEAD: what the files are compared with
    changed: frozenset[str] = field(default_factory=frozenset)  # added or modified, untracked included
    deleted: tuple[str, ...] = ()
    diverged: bool = False  # REF moved on since the branch left it: the merge base is an older commit

    def touches(self, relative: str) -> bool:
        return relative in self.changed or relative in self.deleted


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except FileNotFoundError:
        raise ReconcilerError("--changed-since needs git, and git is not installed (or not on PATH)") from None


def _lines(output: bytes) -> list[str]:
    return [part.decode("utf-8", "surrogateescape") for part in output.split(b"\0") if part]


def changes_since(root: Path, ref: str) -> Changes:
    """The files under `root` changed since `ref`; a clear error outside a Git repo or for a bad ref."""
    # one process for both questions: git prints "true" inside a work tree, then the commit, when there is one
    resolved = _git(root, "rev-parse", "--is-inside-work-tree", "--verify", "--quiet", "--end-of-options",
                    f"{ref}^{{commit}}")
    answers = resolved.stdout.split()
    if not answers or answers[0] != b"true":
        raise ReconcilerError(f"--changed-since needs a Git repo: {root} is not inside a Git work tree")
    if resolved.returncode != 0 or len(answers) != 2:
        raise ReconcilerError(
            f"--changed-since {ref}: no such commit in this Git repo. In CI, fetch it first "
            f"(GitHub: actions/checkout with fetch-depth: 0; or git fetch origin main) and name it "
            f"as the repo knows it, e.g. origin/main or HEAD~1")
    tip = answers[1].decode()
    commit = _merge_base(root, ref, tip)
    diff = _git(root, "diff", "--name-status", "--no-renames", "--relative", "-z", commit, "--", ".")
    if diff.returncode != 0:
        raise ReconcilerError(f"git diff {ref} failed: {diff.stderr.decode(errors='replace').strip()}")
    changed, deleted = set(), []
    fields = _lines(diff.stdout)
    for status, path in zip(fields[0::2], fields[1::2]):
        (deleted.append(path) if status == "D" else changed.add(path))
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    changed.update(_lines(untracked.stdout) if untracked.returncode == 0 else [])
    return Changes(commit, frozenset(changed), tuple(sorted(deleted)), diverged=commit != tip)


def _merge_base(root: Path, ref: str, commit: str) -> str:
    """Where HEAD's history left `commit`'s: `commit` itself when HEAD descends from it (HEAD~1, a merged main)."""
    base = _git(root, "merge-base", commit, "HEAD")
    if base.returncode != 0:
        raise ReconcilerError(
            f"--changed-since {ref}: it shares no history with HEAD (no merge base), so the branch's own "
            f"changes cannot be told apart; in CI, fetch the whole history (fetch-depth: 0, GIT_DEPTH: 0)")
    return base.stdout.decode().strip()


def read_at(root: Path, commit: str, relative: str) -> str | None:
    """A file's text as it was at `commit` (`relative` to `root`), or None when Git cannot give it."""
    shown = _git(root, "show", f"{commit}:./{relative}")
    if shown.returncode != 0:
        return None
    return shown.stdout.decode("utf-8", "replace")


def tree_at(root: Path, commit: str) -> str | None:
    """The id of the tree of `root`'s directory at `commit` (a hash of everything in it), or None."""
    shown = _git(root, "rev-parse", "--verify", "--quiet", f"{commit}:./")
    return shown.stdout.decode().strip() or None if shown.returncode == 0 else None


def tracked_at(root: Path, commit: str) -> dict[str, str] | None:
    """The regular files under `root` at `commit` (relative to it) -> their blob ids; None when Git cannot say."""
    listed = _git(root, "ls-tree", "-r", "-z", commit, "--", ".")
    if listed.returncode != 0:
        return None
    files = {}
    for line in _lines(listed.stdout):
        meta, _, path = line.partition("\t")
        mode, kind, blob = (meta.split(" ") + ["", "", ""])[:3]
        if kind == "blob" and mode in ("100644", "100755"):  # not a symbolic link, not a submodule
            files[path] = blob
    return files
