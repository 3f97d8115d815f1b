"""Benchmark the postgres backend: lock acquire + release, and one journal record, median of 100.

Starts a throwaway server (tests/pgserver.py: the machine's PostgreSQL binaries, run as the
postgres user when we are root), measures over its Unix socket and over TCP on 127.0.0.1,
and stops it.

    .venv/bin/python benchmarks/backend.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.backends.postgres import PostgresBackend  # noqa: E402
from tests.pgserver import remove, start_cluster  # noqa: E402

RUNS = 100


def median_ms(action) -> float:
    times = []
    for i in range(RUNS):
        started = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(dsn: str) -> tuple[float, float]:
    backend = PostgresBackend(dsn)
    lock = median_ms(lambda i: backend.acquire(["acme"], "bench", 0).release())
    with backend.acquire(["acme"], "bench", 0) as held:
        journal = backend.journal(held, ["acme"])
        journal.run_start("bench-run", "sha256:bench", "tok", RUNS)
        record = median_ms(lambda i: journal.step_start("bench-run", i, f"tok:{i}", "add-licenses", "acme/acme"))
    backend.close()
    return lock, record


def main() -> int:
    cluster = start_cluster()
    try:
        cluster.create_database("bench_socket")
        socket = f"host={cluster.folder} port={cluster.port} user=postgres dbname=bench_socket"
        for name, dsn in (("unix socket", socket), ("tcp 127.0.0.1", cluster.create_database("bench_tcp"))):
            lock, record = measure(dsn)
            print(f"{name}: lock acquire + release {lock:.2f} ms, one journal record {record:.2f} ms "
                  f"(median of {RUNS})")
    finally:
        remove(cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
