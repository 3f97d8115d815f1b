"""Benchmark `reconciler validate` and `reconciler plan --state` against the YAML parsing floor.

    python benchmarks/run.py [--sizes 1,100,1000,10000] [--repeats 10,5,3,3] [--apply 1000] [--work DIR]

For each N it generates N customers (benchmarks/generate.py), then measures, each as a
whole process (start-up included), the median wall time and the peak memory (RSS) of:

- `reconciler validate DIR`
- `reconciler plan DIR --state DIR/state.yaml --today 2026-11-30`
- the floor: a Python process that only parses the same files (every customer file and
  state.yaml) with the fastest YAML loader on the machine, libyaml's C loader
  (`yaml.load(text, Loader=yaml.CSafeLoader)`).

It prints plan/floor for every N and the growth N=10,000 / N=1,000. With `--apply M` it
also loads a state of M customers into a sandbox and times `reconciler apply` of a plan
of M ready steps (durable journal on).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import TODAY, generate  # noqa: E402

FLOOR = """
import sys, yaml
from pathlib import Path
root = Path(sys.argv[1])
for path in sorted((root / "customers").glob("*.yaml")) + [root / "state.yaml"]:
    yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
"""


def reconciler_command() -> list[str]:
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def run_once(command: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB of the process and its children, exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{error[-2000:]}")
    return wall, usage.ru_maxrss / 1024, process.returncode


def measure(command: list[str], repeats: int, env: dict | None = None) -> tuple[float, float]:
    """(median wall seconds, highest peak RSS in MB) over `repeats` runs."""
    runs = [run_once(command, env) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def bench_sizes(sizes: list[int], repeats: list[int], work: Path) -> list[dict]:
    command = reconciler_command()
    rows = []
    for n, repeat in zip(sizes, repeats):
        repo = work / f"n{n}"
        if repo.exists():
            shutil.rmtree(repo)
        generate(n, repo)
        validate = measure([*command, "validate", str(repo)], repeat)
        plan = measure([*command, "plan", str(repo), "--state", str(repo / "state.yaml"), "--today", TODAY], repeat)
        floor = measure([sys.executable, "-c", FLOOR, str(repo)], repeat)
        rows.append({"n": n, "repeats": repeat, "validate": validate, "plan": plan, "floor": floor})
        print(f"  N={n}: validate {validate[0]:.3f} s, plan {plan[0]:.3f} s, floor {floor[0]:.3f} s", flush=True)
    return rows


def bench_apply(steps: int, work: Path) -> tuple[float, int]:
    """Seconds of `reconciler apply` on a sandbox where the plan has `steps` ready steps; the steps applied."""
    command = reconciler_command()
    repo = work / f"apply{steps}"
    if repo.exists():
        shutil.rmtree(repo)
    generate(steps, repo, drift=1.0, kinds=("add",))
    env = {**os.environ, "CI": "true"}
    state = repo / "state.yaml"
    state.rename(repo / "portal.yaml")  # not a customer file: the repo has customers/, but keep it apart anyway
    subprocess.run([*command, "sandbox", "load", str(repo / "portal.yaml"), "--repo", str(repo)], check=True,
                   stderr=subprocess.DEVNULL, env=env)
    plan = subprocess.run([*command, "plan", str(repo), "--today", TODAY, "--format", "json"], capture_output=True,
                          text=True, env=env, cwd=repo)
    import json

    ready = json.loads(plan.stdout)["summary"]["ready"]
    wall, _, _ = run_once([*command, "apply", "--auto-approve", "--today", TODAY, "--repo", str(repo)], env)
    return wall, ready


def bench_cliffs(n: int, repeats: int, work: Path) -> dict[str, float]:
    """Median seconds of `plan` at N customers: the clean snapshot, one with an anchor and an alias, one with a typo.

    Neither may cost much more than the clean plan (a reader that falls back to a slower
    path on anything unusual would): the ratios are printed beside the times.
    """
    command = reconciler_command()
    repo = work / f"cliffs{n}"
    if repo.exists():
        shutil.rmtree(repo)
    generate(n, repo)
    clean = (repo / "state.yaml").read_text(encoding="utf-8")
    aliased = clean.replace("    contacts: [", "    contacts: &first [", 1)
    head, _, rest = aliased.partition("&first [")
    start = rest.index("    contacts: [")
    aliased = head + "&first [" + rest[:start] + "    contacts: *first" + rest[rest.index("\n", start):]
    variants = {"clean": clean, "alias": aliased, "typo": clean.replace("    company: ", "    compnay: ", 1)}
    times = {}
    for name, text in variants.items():
        state = repo / f"state-{name}.yaml"
        state.write_text(text, encoding="utf-8")
        runs = []
        for _ in range(repeats):
            start_time = time.perf_counter()
            subprocess.run([*command, "plan", str(repo), "--state", str(state), "--today", TODAY],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # the typo exits 1
            runs.append(time.perf_counter() - start_time)
        times[name] = statistics.median(runs)
    print(f"  cliffs N={n}: " + ", ".join(f"{name} {seconds:.3f} s ({seconds / times['clean']:.2f}x)"
                                          for name, seconds in times.items()), flush=True)
    return times


def report(rows: list[dict], apply: tuple[float, int] | None) -> str:
    lines = [f"machine: {machine()}", "",
             "| N | validate s | validate RSS MB | plan s | plan RSS MB | floor s | floor RSS MB | plan/floor |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        (vt, vm), (pt, pm), (ft, fm) = row["validate"], row["plan"], row["floor"]
        lines.append(f"| {row['n']} | {vt:.3f} | {vm:.0f} | {pt:.3f} | {pm:.0f} | {ft:.3f} | {fm:.0f} | "
                     f"{pt / ft:.2f} |")
    by_n = {row["n"]: row for row in rows}
    lines.append("")
    for small, large in ((1000, 10000), (100, 1000)):
        if small in by_n and large in by_n:
            lines.append(f"growth N={large}/N={small}: plan {by_n[large]['plan'][0] / by_n[small]['plan'][0]:.2f}x, "
                         f"validate {by_n[large]['validate'][0] / by_n[small]['validate'][0]:.2f}x, "
                         f"floor {by_n[large]['floor'][0] / by_n[small]['floor'][0]:.2f}x")
    for row in rows:
        lines.append(f"ratio plan/floor N={row['n']}: {row['plan'][0] / row['floor'][0]:.2f}")
    if apply is not None:
        lines.append(f"apply: {apply[1]} ready steps in {apply[0]:.3f} s (sandbox, durable journal on)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark reconciler validate/plan against the libyaml floor")
    parser.add_argument("--sizes", default="1,100,1000,10000", help="numbers of customers (default 1,100,1000,10000)")
    parser.add_argument("--repeats", default="10,5,3,3",
                        help="runs per size, the median is reported (default 10,5,3,3)")
    parser.add_argument("--apply", type=int, default=1000, metavar="STEPS",
                        help="time apply of this many ready steps on the sandbox (0: skip; default 1000)")
    parser.add_argument("--cliffs", type=int, default=0, metavar="N",
                        help="time plan at N customers with one alias, and one typo, in the snapshot (0: skip)")
    parser.add_argument("--work", type=Path, help="where to generate the repos (default: a temporary directory)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile reconciler's bytecode first (start-up then includes compiling)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    repeats = [int(r) for r in args.repeats.split(",")]
    repeats += [repeats[-1]] * (len(sizes) - len(repeats))
    try:
        import yaml

        if not yaml.__with_libyaml__:
            print("warning: PyYAML has no libyaml here: the floor is the pure-Python loader", file=sys.stderr)
    except ImportError:
        raise SystemExit("PyYAML is needed for the floor: pip install pyyaml")
    if not args.no_compile:  # as an installed package is: bytecode compiled (PYTHONDONTWRITEBYTECODE may be set)
        import reconciler

        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(reconciler.__file__).parent)],
                       check=False, stdout=subprocess.DEVNULL)
    work = args.work or Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = bench_sizes(sizes, repeats, work)
        apply = bench_apply(args.apply, work) if args.apply else None
        if args.cliffs:
            bench_cliffs(args.cliffs, repeats[-1], work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(report(rows, apply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
