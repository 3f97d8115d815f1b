"""The command line: parse arguments, call one function, map failures to exit codes in one place.

Exit codes (FORMAT.md section 5): 0 success or no changes; 1 an error (invalid input,
a rule error, a failed apply, a usage error); 2 changes, with --detailed-exitcode. No traceback reaches
a user for bad input: `ReconcilerError` and OS errors become a message and exit 1.

The package: `main` (here), the parser (parser.py), one module per group of commands
(planning: validate, plan, show; applying: apply, force-unlock, history; sandbox; files:
export, fmt, schema) and what they share (common.py). Each command imports the machinery
it uses inside its own function (the planner, apply, the server...): `reconciler --help`,
shell completion and every other command start without loading it. No import breaks a cycle.

Before any command runs, `main` sets PYDANTIC_DISABLE_PLUGINS (pydantic's documented switch, unless
the user set it): pydantic otherwise scans every installed distribution's entry points for plugins
when the first model is defined, a tenth of a one-customer plan's start-up, and reconciler uses none.
The process's environment is the program's to set, here at its edge, never a library module's.

The console script is `run`: `main`, then the process ends without tearing the interpreter down when
nothing waits for it (see `run`).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from typing import NoReturn

from reconciler.cli.common import COMMENT_LIMIT, EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.cli.parser import build_parser
from reconciler.diagnostics import ReconcilerError
from reconciler.gcpause import paused_gc

__all__ = ["COMMENT_LIMIT", "EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "build_parser", "main", "run"]


def _chdir(directory: str) -> None:
    """-C DIR: every path of the command, and the repo itself, is then relative to DIR."""
    try:
        os.chdir(directory)
    except OSError as exc:
        raise ReconcilerError(f"-C {directory}: {exc.strerror or exc}") from None


PLUGINS_SWITCH = "PYDANTIC_DISABLE_PLUGINS"  # "__all__": no entry-point scan; set it empty to load plugins


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault(PLUGINS_SWITCH, "__all__")  # before the first model is defined: the scan is skipped
    parser = build_parser(lazy=True)  # only the chosen command's flags are built
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


def run() -> NoReturn:
    """The console script and `python -m reconciler`: `main()`, then out of the process.

    Once the output is flushed, the process ends with `os._exit` when nothing waits for the interpreter's
    exit: no function registered with atexit (logging's, a `weakref.finalize`'s), no other thread, no
    profiler or tracer (`python -m cProfile -m reconciler`: it reports once the program is done).
    Tearing the interpreter down frees a big run's objects one by one (a 10,000-customer plan holds
    millions): a tenth of a second or more that gives the user nothing, since the system takes the
    memory back at once. Otherwise it exits as usual.

    The collector is paused before `main` (which then leaves it paused): turned back on at the end,
    its first sweep would walk every object the run left in the young generation, 8 to 20 ms that
    free nothing the process's end does not.
    """
    gc.disable()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a stream closed or gone: the usual exit reports it as Python does
        sys.exit(code)
    if _nothing_waits():
        os._exit(code)
    sys.exit(code)


def _nothing_waits() -> bool:
    """Whether the interpreter's exit would run no code of anyone's: no atexit function, no other thread, no
    profiler or tracer."""
    callbacks = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere the usual exit, to be safe
    threads = sys.modules.get("threading")
    return (callbacks is not None and callbacks() == 0 and (threads is None or threads.active_count() == 1)
            and sys.getprofile() is None and sys.gettrace() is None)
