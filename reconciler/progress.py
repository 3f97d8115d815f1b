"""A progress bar for long runs, on a terminal only.

It draws on stderr, and only when stderr is a terminal, CI is not set and the run is
long (more than `THRESHOLD` items): nothing of it reaches CI logs, piped output or the
plan on stdout. The bar disappears when the run ends. rich is imported only when a bar
is drawn, so short runs do not pay for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

THRESHOLD = 300  # items: below this a run is quick enough to need no bar

Advance = Callable[[], None]


def wanted(total: int, stream=None) -> bool:
    stream = stream if stream is not None else sys.stderr
    in_ci = os.environ.get("CI", "").lower() in ("true", "1")
    return total > THRESHOLD and not in_ci and hasattr(stream, "isatty") and stream.isatty()


def _nothing() -> None:
    return None


@contextmanager
def progress(total: int, label: str, of: int | None = None) -> Iterator[Advance]:
    """`with progress(n, "loading customer files") as advance:` then `advance()` once per item.

    `of`: the items of the whole run when this process does `total` of them (another does the rest):
    whether the run is long enough for a bar is judged on `of`.
    """
    if not wanted(total if of is None else of):
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
