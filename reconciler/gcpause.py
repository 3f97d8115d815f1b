"""The cyclic garbage collector paused for a whole run: set once, by the command line's `main` (the console
script's `run` pauses it before `main` and leaves it paused to the process's end: a last sweep of everything
the run made frees nothing the exit does not).

Reading thousands of files makes millions of objects and no reference cycles: each full
collection walks every object alive, and while a big repo loads the young generation fills
again and again, so collecting cost more than parsing. Plain data and models hold no cycles;
reference counting frees them all the same. Library code never touches the collector itself:
the one process-wide switch is the program's, not a loader's or a planner's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside; the collector is left as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
