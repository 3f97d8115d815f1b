"""Shared test helpers, and Hypothesis' profiles.

Property tests are deterministic by default (the `ci` profile: `derandomize=True`, the same
examples on every run, so a green suite stays green). The random search runs with
`--hypothesis-profile=search` (or HYPOTHESIS_PROFILE=search); PROPERTY_EXAMPLES=N draws N
examples in every property test instead of its own count.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("search", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(default: int) -> int:
    """A property test's example count: its own, or PROPERTY_EXAMPLES when set (a longer search)."""
    return int(os.environ.get("PROPERTY_EXAMPLES", default))


def example_dirs() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and (p / "state.yaml").exists())


import itertools  # noqa: E402

import pytest  # noqa: E402

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL server for the session (tests/pgserver.py), stopped at the end."""
    from tests.pgserver import remove, start_cluster

    cluster = start_cluster()
    yield cluster
    remove(cluster)


@pytest.fixture
def pg_dsn(pg_cluster) -> str:
    """A connection string to a new, empty database of the session's server."""
    return pg_cluster.create_database(f"t{os.getpid()}_{next(_databases)}")
