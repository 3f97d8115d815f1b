"""Benchmark reconciler against honest floors and print every target of the speed work with PASS or FAIL.

    python benchmarks/run.py            # the full run: N = 1, 1,000, 10,000, 50,000; apply of 1,000 and 5,000 steps
    python benchmarks/run.py --quick    # a smoke run (N = 1 and 200, apply of 20 and 100 steps): seconds, not minutes

Everything is measured in one run, each command a whole process (interpreter start-up and
imports included): median wall time of several runs, highest peak RSS. For each N it
generates N customers (benchmarks/generate.py) and measures `reconciler validate`, cold
`reconciler plan --state` (no cache), and the floors of benchmarks/floors.py (libyaml with
the GC paused on one process and on two, and with the GC on, the floor quoted before).
At the largest N of at least 10,000 it also measures the warm re-plan after one customer
file changed, `--changed-since` with one changed file, and the cliff cases (one alias and
one typo in the snapshot). Apply: the steps phase of a plan of M ready steps on the sandbox
(the engine's `apply_plan`, journal and portal file durable) against the WAL floor, and
the whole `reconciler apply` command. With `--baseline COMMAND` (another checkout's
`reconciler`, e.g. the commit before a redesign), its `validate` and cold `plan` are timed
at every N in the same run, each of its runs right after one of ours, so that the
regression target (at most 1.1x the baseline's time and peak memory) is judged on one
machine state. Targets are in benchmarks/targets.py.
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
from floors import APPLY_STEPS, WAL_FLOOR, YAML_FLOOR  # noqa: E402
from generate import TODAY, generate  # noqa: E402
from targets import BIG, evaluate, render  # noqa: E402

FULL = {"sizes": (1, 1000, 10000, 50000), "repeats": (20, 3, 3, 1), "apply": (1000, 5000), "warm": 10000, "again": 3}
QUICK = {"sizes": (1, 50), "repeats": (3, 1), "apply": (10, 30), "warm": 50, "again": 1}


def reconciler_command() -> list[str]:
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def run_once(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of the process and its children, stdout); exit codes 0-2 are answers."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 1, 2):
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode(errors="replace")


def measure(command: list[str], repeats: int, prepare=None, **kwargs) -> tuple[float, float]:
    """(median wall seconds, highest peak RSS in MB) over `repeats` runs; `prepare()` runs before each, untimed."""
    return measure_turns([command], repeats, prepare, **kwargs)[0]


def measure_turns(commands: list[list[str] | None], repeats: int, prepare=None,
                  **kwargs) -> list[tuple[float, float] | None]:
    """`measure` of each command (None: not run), the commands run in turn: A B C A B C ..., so that each ratio
    between them is of runs that saw the machine alike (a shared machine's speed drifts within a run)."""
    runs: list[list] = [[] for _ in commands]
    for _ in range(repeats):
        for side, what in enumerate(commands):
            if what is None:
                continue
            if prepare:
                prepare()
            runs[side].append(run_once(what, **kwargs))
    return [(statistics.median(r[0] for r in got), max(r[1] for r in got)) if got else None for got in runs]


def input_mb(repo: Path) -> float:
    files = [*(repo / "customers").glob("*.yaml"), repo / "state.yaml"]
    return sum(p.stat().st_size for p in files) / 1e6


def drop_cache(repo: Path) -> None:
    shutil.rmtree(repo / ".reconciler" / "cache", ignore_errors=True)


def bench_size(n: int, repeats: int, work: Path, cmd: list[str], baseline: list[str] | None = None) -> dict:
    repo = work / f"n{n}"
    shutil.rmtree(repo, ignore_errors=True)
    generate(n, repo)

    def plan(command):
        return command and [*command, "plan", str(repo), "--state", str(repo / "state.yaml"), "--today", TODAY]

    def validate(command):
        return command and [*command, "validate", str(repo)]

    floor = [sys.executable, "-c", YAML_FLOOR, str(repo)]
    validated = measure_turns([validate(cmd), validate(baseline)], min(repeats, 5), lambda: drop_cache(repo))
    planned, theirs, *floors = measure_turns([plan(cmd), plan(baseline), [*floor, "1", "gc-off"],
                                              [*floor, "2", "gc-off"], [*floor, "1", "gc-on"]],
                                             repeats, lambda: drop_cache(repo))
    row = {"n": n, "repeats": repeats, "input_mb": input_mb(repo), "validate": validated[0], "plan": planned,
           "baseline": baseline and {"validate": validated[1], "plan": theirs},
           "floor": floors[0], "floor2": floors[1], "floor_gc": floors[2]}
    print(f"  N={n}: plan {row['plan'][0]:.3f} s, floor {row['floor'][0]:.3f} s, 2 processes "
          f"{row['floor2'][0]:.3f} s" + (f", baseline plan {theirs[0]:.3f} s" if baseline else ""), flush=True)
    return row


def bench_warm(n: int, work: Path, cmd: list[str], repeats: int = 3) -> dict:
    """Re-plans of the N-customer repo (a Git repo) after one customer file changed, the cache warm."""
    repo = work / f"n{n}"
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    drop_cache(repo)  # the cold runs' cache: never committed (a committed cache is not used, and a warning says so)
    (repo / ".gitignore").write_text(".reconciler/\n", encoding="utf-8")  # as the README tells a repo to
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=repo, check=True)
    plan = [*cmd, "plan", ".", "--state", "state.yaml", "--today", TODAY]
    run_once(plan, cwd=repo)  # warms the cache
    edits = iter(range(10_000))
    target = repo / "customers" / "c00000.yaml"
    original = target.read_text(encoding="utf-8")

    def change_one():
        target.write_text(original.replace("company: ", f"company: Changed {next(edits)} ", 1), encoding="utf-8")

    warm = measure(plan, repeats, change_one, cwd=repo)
    changed = measure([*plan, "--changed-since", "HEAD"], repeats, change_one, cwd=repo)
    target.write_text(original, encoding="utf-8")
    print(f"  warm N={n}: one file changed {warm[0]:.3f} s, --changed-since {changed[0]:.3f} s", flush=True)
    return {"n": n, "warm": warm, "changed_since": changed}


def bench_cliffs(n: int, work: Path, cmd: list[str], repeats: int = 3) -> dict:
    """The clean plan of N customers against the same with one alias, and with one typo, in the snapshot."""
    clean = work / f"n{n}"
    times = {}
    for case in ("clean", "alias", "typo"):
        repo = work / f"cliff-{case}"
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(clean, repo, ignore=shutil.ignore_patterns(".git", ".reconciler"))
        state = repo / "state.yaml"
        text = state.read_text(encoding="utf-8")
        if case == "alias":  # the second customer's contacts are the first one's, by an alias
            text = text.replace("    contacts: [", "    contacts: &first [", 1)
            first, rest = text.split("    contacts: [", 1)
            rest = "*first" + rest.split("]", 1)[1]
            text = first + "    contacts: " + rest
        elif case == "typo":  # one misspelled key in one PBX: a diagnostic
            text = text.replace("        status: active", "        stauts: active", 1)
        state.write_text(text, encoding="utf-8")
        times[case] = measure([*cmd, "plan", str(repo), "--state", str(state), "--today", TODAY], repeats,
                              lambda r=repo: drop_cache(r))
    print(f"  cliffs N={n}: clean {times['clean'][0]:.3f} s, alias {times['alias'][0]:.3f} s, "
          f"typo {times['typo'][0]:.3f} s", flush=True)
    return {"n": n, **times}


def bench_apply(steps: int, work: Path, cmd: list[str], repeats: int = 1) -> dict:
    """The steps phase of applying `steps` ready steps on the sandbox, the whole command, and the WAL floor: each the
    median of `repeats` runs, the sandbox loaded afresh before each apply (one run of a few seconds is noise here)."""
    repo = work / f"apply{steps}"
    shutil.rmtree(repo, ignore_errors=True)
    generate(steps, repo, drift=1.0, kinds=("add",))
    (repo / "state.yaml").rename(repo / "portal.yaml")
    env = {**os.environ, "CI": "true"}

    def load():
        subprocess.run([*cmd, "sandbox", "load", str(repo / "portal.yaml"), "--repo", str(repo)], check=True,
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)

    phases, commands, floors, done = [], [], [], None
    for _ in range(repeats):
        load()
        out = subprocess.run([sys.executable, "-c", APPLY_STEPS, str(repo), TODAY], capture_output=True, text=True,
                             env=env, check=True)
        took, done = out.stdout.split()
        phases.append(float(took))
        load()
        commands.append(run_once([*cmd, "apply", "--auto-approve", "--today", TODAY, "--repo", str(repo)], env)[0])
        floor = subprocess.run([sys.executable, "-c", WAL_FLOOR, str(repo / ".reconciler"), str(steps)],
                               capture_output=True, text=True, check=True)
        floors.append(float(floor.stdout))
    row = {"steps": steps, "done": int(done), "phase": statistics.median(phases),
           "command": statistics.median(commands), "floor": statistics.median(floors)}
    print(f"  apply {steps}: steps phase {row['phase']:.3f} s ({done} done), command {row['command']:.3f} s, "
          f"WAL floor {row['floor']:.3f} s (medians of {repeats})", flush=True)
    return row


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}, "
            f"load average {load:.2f} at the start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark reconciler against its floors; PASS/FAIL per target")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes, one repeat")
    parser.add_argument("--sizes", help="numbers of customers, e.g. 1,1000,10000 (default: the full run's)")
    parser.add_argument("--repeats", help="runs per size, the median is reported, e.g. 20,3,3")
    parser.add_argument("--apply", help="ready steps to apply on the sandbox, e.g. 1000,5000 (0: skip)")
    parser.add_argument("--work", type=Path, help="where to generate the repos (default: a temporary directory)")
    parser.add_argument("--baseline", help="another reconciler command to time beside ours at every N, e.g. "
                        "'../old/.venv/bin/reconciler' (the regression target: at most 1.1x its time and memory)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile reconciler's bytecode first (start-up then includes compiling)")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.sizes:
        plan["sizes"] = tuple(int(s) for s in args.sizes.split(","))
        plan["warm"] = BIG if BIG in plan["sizes"] else max(plan["sizes"])  # the targets' N, when it is measured
    if args.repeats:
        plan["repeats"] = tuple(int(r) for r in args.repeats.split(","))
    if args.apply:
        plan["apply"] = tuple(int(s) for s in args.apply.split(",") if int(s))
    repeats = list(plan["repeats"]) + [plan["repeats"][-1]] * (len(plan["sizes"]) - len(plan["repeats"]))
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
    cmd = reconciler_command()
    header = machine()
    started = time.perf_counter()
    try:
        baseline = args.baseline.split() if args.baseline else None
        rows = [bench_size(n, r, work, cmd, baseline) for n, r in zip(plan["sizes"], repeats)]
        warm = bench_warm(plan["warm"], work, cmd, plan["again"]) if plan["warm"] in plan["sizes"] else None
        cliffs = bench_cliffs(plan["warm"], work, cmd, plan["again"]) if warm else None
        applies = [bench_apply(steps, work, cmd, plan["again"]) for steps in plan["apply"]]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results = evaluate(rows, warm, cliffs, applies)
    print(render(header, rows, warm, cliffs, applies, results, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
