"""The planner, its rules, pricing, the portal facts and the sandbox import one another without a cycle.

Every import counts, at the top of a module or inside a function (a function-level import
would only hide a cycle), and importing `a.b.c` counts as importing the packages `a` and
`a.b` too, as Python runs their `__init__` first. Read from the source with `ast`: nothing
is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import reconciler

ROOT = Path(reconciler.__file__).parent
CHECKED = ("reconciler.plan", "reconciler.rules", "reconciler.pricing", "reconciler.facts", "reconciler.sandbox")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules)
    run = set()
    for module in named:
        parts = module.split(".")
        run.update(".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in modules)
    run.discard(name)
    return run


def import_cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    modules = _modules()
    graph = {name: sorted(_imports(name, path, modules)) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(graph[step])))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycle_through_the_planner_rules_pricing_or_sandbox():
    involved = [cycle for cycle in import_cycles() if any(m.startswith(CHECKED) for m in cycle)]
    assert involved == []


def test_the_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check itself can fail: two modules importing each other (inside a function, too) are a cycle."""
    package = tmp_path / "reconciler"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from reconciler.b import x\n")
    (package / "b.py").write_text("def x():\n    from reconciler import a\n")
    monkeypatch.setattr(f"{__name__}.ROOT", package)
    assert import_cycles() == [["reconciler.a", "reconciler.b"]]


def test_the_sandbox_states_its_own_rules():
    """The sandbox is the planner's independent check: it imports neither the rules nor the planner's facts."""
    modules = _modules()
    sandbox = {name: _imports(name, path, modules) for name, path in modules.items()
               if name.startswith("reconciler.sandbox")}
    leaks = {name: sorted(m for m in found if m.startswith(("reconciler.rules", "reconciler.facts",
                                                            "reconciler.plan.planner", "reconciler.pricing")))
             for name, found in sandbox.items()}
    assert {name: found for name, found in leaks.items() if found} == {}


def test_the_sandbox_and_the_planner_agree_on_the_portal_facts():
    """Restated, not shared: each number is written twice from its seed, and the two must agree."""
    from reconciler import facts
    from reconciler.sandbox import accounts, catalog, clock

    assert clock.TERM_MONTHS == facts.TERM_MONTHS
    assert (clock.STOPPED_AFTER, clock.DELETED_AFTER) == (facts.STOPPED_AFTER, facts.DELETED_AFTER)
    assert clock.MINIMUM_MONTHS == facts.MINIMUM_MONTHS
    assert clock.OVERDUE_GRACE_DAYS == facts.OVERDUE_GRACE_DAYS
    assert catalog.HARDWARE_PBX_PRODUCT == facts.HARDWARE_PBX_PRODUCT
    assert accounts.TERMS == facts.TERMS
