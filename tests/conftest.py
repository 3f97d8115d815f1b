"""Shared test helpers."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


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
