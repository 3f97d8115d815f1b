"""The customer files below a repo's `customers/` folder, found by walking it: no pydantic, so that a forked copy of
the plan command can walk a big repo while the command imports the planner (reconciler.unchanged.Ahead).

Hidden files and folders are left out. A symbolic link is followed only when it stays inside the
repo (reconciler.paths: a pull request must not make the tool read the machine's files), and a
linked folder only when it is not one the walk is already in (no loop). Which files a repo without
a `customers/` folder holds depends on its configuration: that is `repo.discover`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

from reconciler.paths import outside_allowed, within

YAML_SUFFIXES = (".yaml", ".yml")
CUSTOMERS_DIR = "customers"


def customers_below(directory: Path, outside: list[Path], links: set[str]) -> list[str] | None:
    """The YAML files below `directory`'s customers/ folder, each `str(directory / its names)`, in the order their
    `Path`s sort in; those that are links leading out of the repo go to `outside`, those that are links inside it
    to `links`. None when there is no customers/ folder."""
    customers_dir = directory / CUSTOMERS_DIR
    if not customers_dir.is_dir():
        return None
    if customers_dir.is_symlink() and not linked_inside(customers_dir, directory, outside):
        return []
    # sorted by the names' tuples, as `Path`s compare, without a `Path` comparison per pair
    return [path for _, path in sorted(_files_below(str(customers_dir), directory, outside, links), key=itemgetter(0))]


def _files_below(folder: str, root: Path, outside: list[Path], links: set[str], at: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], str]]:
    """The YAML files below `folder`, each with its names below the walk's start (the order `Path`s sort in).

    os.scandir: no stat per file. Paths are strings, `folder` and a name joined as `Path` joins them
    (`folder` is a `Path`'s string; `DirEntry.path` is that join, made by os.scandir): no `Path` a file.
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            path = entry.path
            linked = entry.is_symlink()
            if linked and not linked_inside(Path(path), root, outside):
                continue
            if entry.is_dir():
                yield from _files_below(path, root, outside, links, (*at, name))
            elif name.endswith(YAML_SUFFIXES) and entry.is_file():
                if linked:
                    links.add(path)
                yield (*at, name), path


def linked_inside(path: Path, root: Path, outside: list[Path]) -> bool:
    """Whether to follow the symbolic link `path`: it stays inside `root` and is no loop; `outside` gets it if not."""
    target = Path(os.path.realpath(path))
    if not within(target, root) and not outside_allowed():
        if path.name.endswith(YAML_SUFFIXES) or target.is_dir():
            outside.append(path)
        return False
    return not (target.is_dir() and Path(os.path.realpath(path.parent)).is_relative_to(target))
