"""`python -m reconciler`: the same entry point as the console script."""

from reconciler.cli import run

run()
