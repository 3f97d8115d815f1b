"""The speed targets, judged on one run's measurements, and the report the runner prints.

Each target is a ratio (or a time) with its limit; a target whose inputs the run did not
measure (a quick run has no N=50,000) is printed as "not measured", never as a pass. The
targets, numbered as in the README's performance paragraph:

1. the floors: plan against libyaml with the GC paused, on one process and on two;
2. one customer: `plan --state` at most 0.10 s (median);
3. 10,000 customers cold: plan at most 0.7x the one-process floor, peak RSS at most 10x the
   input's size on disk; 50,000: at most 5.5x the 10,000 time and under 1 GiB;
4. warm re-plan of 10,000 after one file changed at most 0.5 s, `--changed-since` 0.4 s;
5. one alias and one typo in the snapshot cost at most 1.2x the clean plan;
6. apply: 5,000 ready steps at most 1.5x the durable WAL floor, 5,000 at most 5.5x 1,000;

and R, with `--baseline`: at every N, our validate and cold plan at most 1.1x the baseline's
wall time and peak RSS (a redesign must not make anything slower).
"""

from __future__ import annotations

BIG, HUGE = 10_000, 50_000
REGRESSION = 1.1
MANY_STEPS, FEW_STEPS = 5_000, 1_000


def _check(target: str, what: str, value: float | None, limit: float, unit: str = "x") -> dict:
    verdict = "not measured" if value is None else "PASS" if value <= limit else "FAIL"
    return {"target": target, "what": what, "value": value, "limit": limit, "unit": unit, "verdict": verdict}


def evaluate(rows: list[dict], warm: dict | None, cliffs: dict | None, applies: list[dict]) -> list[dict]:
    by_n = {row["n"]: row for row in rows}
    big = by_n.get(BIG) or (by_n[max(by_n)] if by_n else None)
    out = []
    if big:
        n = big["n"]
        out.append(_check("1", f"N={n} plan / libyaml floor, GC paused, 1 process",
                          big["plan"][0] / big["floor"][0], float("inf")))
        out.append(_check("1", f"N={n} plan / libyaml floor, GC paused, 2 processes",
                          big["plan"][0] / big["floor2"][0], float("inf")))
    one = by_n.get(1)
    out.append(_check("2", "N=1 plan --state, median wall", one and one["plan"][0], 0.10, " s"))
    if big:
        n = big["n"]
        out.append(_check("3", f"N={n} cold plan / floor (GC paused, 1 process)", big["plan"][0] / big["floor"][0],
                          0.7))
        out.append(_check("3", f"N={n} plan peak RSS / input size on disk ({big['input_mb']:.1f} MB)",
                          big["plan"][1] / big["input_mb"], 10))
    huge = by_n.get(HUGE)
    out.append(_check("3", f"N={HUGE} plan / N={BIG} plan",
                      huge and by_n.get(BIG) and huge["plan"][0] / by_n[BIG]["plan"][0], 5.5))
    out.append(_check("3", f"N={HUGE} plan peak RSS", huge and huge["plan"][1], 1024, " MiB"))
    n = warm["n"] if warm else BIG
    out.append(_check("4", f"N={n} warm re-plan, one file changed", warm and warm["warm"][0], 0.5, " s"))
    out.append(_check("4", f"N={n} --changed-since, one file changed", warm and warm["changed_since"][0], 0.4, " s"))
    for case in ("alias", "typo"):
        out.append(_check("5", f"N={n} one {case} in the snapshot / clean plan",
                          cliffs and cliffs[case][0] / cliffs["clean"][0], 1.2))
    steps = {row["steps"]: row for row in applies}
    many = steps.get(MANY_STEPS) or (steps[max(steps)] if steps else None)
    label = many["steps"] if many else MANY_STEPS
    out.append(_check("6", f"apply {label} steps / durable WAL floor", many and many["phase"] / many["floor"], 1.5))
    few = steps.get(FEW_STEPS) or (steps[min(steps)] if len(steps) > 1 else None)
    out.append(_check("6", f"apply {label} steps / {few['steps'] if few else FEW_STEPS} steps",
                      many and few and few is not many and many["phase"] / few["phase"], 5.5))
    for row in rows:
        if not row.get("baseline"):
            continue
        for command in ("validate", "plan"):
            ours, theirs = row[command], row["baseline"][command]
            out.append(_check("R", f"N={row['n']} {command} / baseline, wall", ours[0] / theirs[0], REGRESSION))
            out.append(_check("R", f"N={row['n']} {command} / baseline, peak RSS", ours[1] / theirs[1], REGRESSION))
    return out


def render(header: str, rows: list[dict], warm: dict | None, cliffs: dict | None, applies: list[dict],
           results: list[dict], seconds: float) -> str:
    lines = [f"machine: {header}", "",
             "| N | input MB | validate s | plan s | plan RSS MB | floor s (GC paused) | 2 processes s | "
             "GC on s | plan/floor | plan/2 processes |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        p, f, f2, fg = row["plan"], row["floor"], row["floor2"], row["floor_gc"]
        lines.append(f"| {row['n']} | {row['input_mb']:.1f} | {row['validate'][0]:.3f} | {p[0]:.3f} | {p[1]:.0f} | "
                     f"{f[0]:.3f} | {f2[0]:.3f} | {fg[0]:.3f} | {p[0] / f[0]:.2f} | {p[0] / f2[0]:.2f} |")
    lines.append("")
    for row in rows:
        if row.get("baseline"):
            v, p = row["baseline"]["validate"], row["baseline"]["plan"]
            lines.append(f"baseline N={row['n']}: validate {v[0]:.3f} s {v[1]:.0f} MB, plan {p[0]:.3f} s {p[1]:.0f} MB")
    if warm:
        lines.append(f"warm N={warm['n']}: one file changed {warm['warm'][0]:.3f} s, "
                     f"--changed-since {warm['changed_since'][0]:.3f} s")
    if cliffs:
        lines.append(f"cliffs N={cliffs['n']}: clean {cliffs['clean'][0]:.3f} s, alias {cliffs['alias'][0]:.3f} s, "
                     f"typo {cliffs['typo'][0]:.3f} s")
    for row in applies:
        lines.append(f"apply: {row['done']} ready steps: steps phase {row['phase']:.3f} s, whole command "
                     f"{row['command']:.3f} s, durable WAL floor {row['floor']:.3f} s")
    lines += ["", "| target | what | measured | limit | verdict |", "| --- | --- | ---: | ---: | --- |"]
    for r in results:
        value = "-" if r["value"] is None else f"{r['value']:.3f}{r['unit']}"
        limit = "(reported)" if r["limit"] == float("inf") else f"{r['limit']:g}{r['unit']}"
        lines.append(f"| T{r['target']} | {r['what']} | {value} | {limit} | {r['verdict']} |")
    counts = {verdict: sum(r["verdict"] == verdict for r in results) for verdict in ("PASS", "FAIL", "not measured")}
    lines += ["", f"{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['not measured']} not measured "
              f"(the runner took {seconds:.0f} s)"]
    return "\n".join(lines)
