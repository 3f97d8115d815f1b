"""The floors the runner compares reconciler against: what the same work costs with nothing else done.

Each floor is a small Python program run as its own process (start-up included, as
reconciler's is), so a ratio compares like with like:

- YAML_FLOOR: parse every customer file and state.yaml with libyaml's C loader
  (`yaml.CSafeLoader`), the fastest YAML parser Python has, with the cyclic garbage
  collector paused (as reconciler pauses it: millions of objects, no cycles) or on.
  `--workers 2` shares the files between two forked processes by size (greedy: the
  largest file to the less loaded worker), the floor of a reader that uses both cores.
- WAL_FLOOR: the durable cost of N applied steps with this design: N committed SQLite
  transactions in WAL mode with `synchronous=FULL` (one row read, one updated, one
  inserted, as a step touches its PBX and records its token) and 2 x N journal records
  appended to a file, each flushed and fdatasync'd. It prints its own seconds (the
  loop only), compared with the steps phase of apply.
"""

from __future__ import annotations

YAML_FLOOR = """
import gc, os, sys, yaml
from pathlib import Path
root, workers, collect = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "gc-on"
if not collect:
    gc.disable()
files = sorted((root / "customers").glob("*.yaml")) + [root / "state.yaml"]
shares = [[] for _ in range(workers)]
loads = [0] * workers
for path in sorted(files, key=lambda p: p.stat().st_size, reverse=True):
    least = loads.index(min(loads))
    shares[least].append(path)
    loads[least] += path.stat().st_size
def parse(paths):
    for path in paths:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
children = []
for share in shares[1:]:
    pid = os.fork()
    if pid == 0:
        parse(share)
        os._exit(0)
    children.append(pid)
parse(shares[0])
for pid in children:
    os.waitpid(pid, 0)
"""

WAL_FLOOR = """
import os, sqlite3, sys, time, json
from pathlib import Path
work, n = Path(sys.argv[1]), int(sys.argv[2])
db = work / "floor.db"
for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), work / "floor.journal"):
    leftover.unlink(missing_ok=True)
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("CREATE TABLE pbxes (name TEXT PRIMARY KEY, basic INTEGER NOT NULL, expires_on TEXT)")
conn.execute("CREATE TABLE tokens (token TEXT PRIMARY KEY, step TEXT NOT NULL)")
conn.executemany("INSERT INTO pbxes VALUES (?, 1, '2027-01-01')", [(f"c{i:05d}",) for i in range(n)])
journal = open(work / "floor.journal", "a", encoding="utf-8")
def record(kind, i):
    journal.write(json.dumps({"type": kind, "step": i, "token": f"run:{i}", "at": "2026-11-30T00:00:00Z"}) + "\\n")
    journal.flush()
    os.fdatasync(journal.fileno())
start = time.perf_counter()
for i in range(n):
    record("step-start", i)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("SELECT basic FROM pbxes WHERE name = ?", (f"c{i:05d}",)).fetchone()
    conn.execute("UPDATE pbxes SET basic = basic + 1 WHERE name = ?", (f"c{i:05d}",))
    conn.execute("INSERT INTO tokens VALUES (?, ?)", (f"run:{i}", "{}"))
    conn.execute("COMMIT")
    record("step-done", i)
print(time.perf_counter() - start)
conn.close()
"""

APPLY_STEPS = """
import datetime as dt, sys, time
from pathlib import Path
from reconciler.apply.engine import apply_plan
from reconciler.providers.sandbox import SandboxProvider
from reconciler.workflow import PlanRequest, make_plan
repo, today = Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2])
provider = SandboxProvider(repo / ".reconciler" / "sandbox.db")
document = make_plan(PlanRequest(paths=[str(repo)], today=today.isoformat()), provider=provider).document
start = time.perf_counter()
result = apply_plan(document, provider, today, repo / ".reconciler" / "bench.journal", run_token="bench")
took = time.perf_counter() - start
assert result.ok, result
print(took, sum(o.outcome == "done" for o in result.outcomes))
"""
