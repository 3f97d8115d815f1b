"""The portal over HTTP against the sandbox file: reading 10,000 customers, applying 1,000 steps.

    python benchmarks/portal.py [--customers 10000] [--steps 1000] [--latencies 0,100] [--work DIR]

- read: the state of N generated customers, read in this process by the sandbox provider
  (from the file) and by the http provider (from `reconciler sandbox serve` on 127.0.0.1),
  median of 3. "cold" reads a date the server has not read yet (it reads the sandbox file,
  moving the portal's clock there, then serves the pages), and the file is read on that date
  right after; "warm" reads one the server has read (the pages are cut from the state it keeps).
- apply: `reconciler apply --auto-approve` of a plan of M ready steps (one license increase
  for each of M customers: independent steps) over HTTP, with the server's --latency-ms at
  each latency, at --parallelism 1 and 10; a fresh sandbox for every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import TODAY, generate  # noqa: E402

READ, WRITE = secrets.token_hex(24), secrets.token_hex(24)
COMMAND = [sys.executable, "-m", "reconciler"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, home: Path, latency_ms: int = 0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        env = {**os.environ, "RECONCILER_SERVE_TOKENS": f"read:{READ} write:{WRITE}"}
        self.process = subprocess.Popen([*COMMAND, "sandbox", "serve", "--port", str(self.port), "--latency-ms",
                                         str(latency_ms)], cwd=home, env=env, stdin=subprocess.DEVNULL)
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def load(home: Path, state: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([*COMMAND, "sandbox", "load", str(state)], cwd=home, check=True, stderr=subprocess.DEVNULL)


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bench_read(customers: int, work: Path) -> dict:
    from reconciler.providers.http import HttpProvider
    from reconciler.providers.sandbox import SandboxProvider

    source = work / f"read{customers}"
    generate(customers, source)
    home = work / f"read{customers}-portal"
    load(home, source / "state.yaml")
    served = Served(home)
    os.environ["RECONCILER_PORTAL_TOKEN"] = READ
    try:
        day = dt.date.fromisoformat(TODAY)
        days = [day + dt.timedelta(days=i) for i in range(3)]
        client = HttpProvider(served.url, timeout=600)  # a cold read of a big portal on a busy machine
        sandbox = SandboxProvider(home / ".reconciler" / "sandbox.db")
        cold, direct = [], []
        for day in days:  # over HTTP first: the server's read also moves the portal's clock to the new day
            cold.append(timed(lambda: client.read(day)))
            direct.append(timed(lambda: sandbox.read(day)))
        warm = [timed(lambda: client.read(days[-1])) for _ in range(3)]
        assert client.read(days[-1]) == sandbox.read(days[-1])
    finally:
        served.stop()
    return {"file": statistics.median(direct), "cold": statistics.median(cold), "warm": statistics.median(warm)}


def bench_apply(steps: int, latency_ms: int, parallelism: int, work: Path) -> tuple[float, str]:
    source = work / f"apply{steps}"
    if not source.exists():
        generate(steps, source, drift=1.0, kinds=("add",))
    run = work / f"apply{steps}-{latency_ms}-{parallelism}"
    shutil.rmtree(run, ignore_errors=True)
    load(run / "portal", source / "state.yaml")
    served = Served(run / "portal", latency_ms)
    try:
        repo = run / "repo"
        shutil.copytree(source / "customers", repo / "customers")
        (repo / "reconciler.yaml").write_text(f"provider:\n  kind: http\n  url: {served.url}\n")
        env = {**os.environ, "CI": "true", "RECONCILER_PORTAL_TOKEN": WRITE}
        started = time.perf_counter()
        result = subprocess.run([*COMMAND, "apply", "--auto-approve", "--today", TODAY, "--parallelism",
                                 str(parallelism)], cwd=repo, env=env, capture_output=True, text=True)
        took = time.perf_counter() - started
        summary = next((line for line in result.stdout.splitlines() if line.startswith("Apply ")), result.stderr)
        summary += f"; steps {_steps_seconds(repo):.0f} s by the journal"
    finally:
        served.stop()
    return took, summary


def _steps_seconds(repo: Path) -> float:
    """From the first step-start to the last step-done, by the journal's timestamps (whole seconds)."""
    import json

    records = [json.loads(line) for journal in (repo / ".reconciler").glob("portal-*.journal") for line in
               journal.open()]
    stamps = [dt.datetime.fromisoformat(r["at"].replace("Z", "+00:00")) for r in records
              if r["type"] in ("step-start", "step-done")]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--latencies", default="0,100", help="server latencies in ms, comma-separated")
    parser.add_argument("--work", type=Path, help="where to write the generated repos (default: a temp dir)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="reconciler-http-bench-"))
    lines = []
    if args.customers:
        read = bench_read(args.customers, work)
        lines.append(f"read {args.customers} customers: file {read['file']:.2f} s, http cold {read['cold']:.2f} s "
                     f"({read['cold'] / read['file']:.2f}x), http warm {read['warm']:.2f} s "
                     f"({read['warm'] / read['file']:.2f}x)")
        print(lines[-1], flush=True)
    for latency in [int(x) for x in args.latencies.split(",") if x]:
        for parallelism in (1, 10):
            took, summary = bench_apply(args.steps, latency, parallelism, work)
            lines.append(f"apply {args.steps} steps, latency {latency} ms, parallelism {parallelism}: "
                         f"{took:.2f} s ({summary})")
            print(lines[-1], flush=True)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
