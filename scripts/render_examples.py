"""Render the plan of every example into plans/ (markdown and JSON), as a reviewer sees them.

Each example is planned on its snapshot's `as_of` date, so the plans are reproducible.
`python3 tasks.py plans` writes them; tests/test_examples.py fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ruamel.yaml import YAML

from reconciler.render import RENDERERS
from reconciler.workflow import PlanRequest, make_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PLANS = ROOT / "plans"
FORMATS = {"md": "markdown", "json": "json"}


def examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and (p / "state.yaml").is_file())


def as_of(example: Path) -> str:
    return str(YAML(typ="safe", pure=True).load((example / "state.yaml").read_text(encoding="utf-8"))["as_of"])


def plan_document(example: Path) -> dict:
    """The example's plan document; paths in it are relative to the project root."""
    relative = example.relative_to(ROOT)
    return make_plan(PlanRequest(paths=[str(relative)], today=as_of(example))).document


def rendered(example: Path) -> dict[str, str]:
    """File name in plans/ -> its content."""
    document = plan_document(example)
    return {f"{example.name}.{suffix}": RENDERERS[name](document) for suffix, name in FORMATS.items()}


def main() -> int:
    import os

    os.chdir(ROOT)
    PLANS.mkdir(exist_ok=True)
    wanted = {}
    for example in examples():
        wanted.update(rendered(example))
    for stale in set(p.name for p in PLANS.iterdir() if p.suffix in (".md", ".json")) - set(wanted):
        (PLANS / stale).unlink()
    for name, content in wanted.items():
        (PLANS / name).write_text(content, encoding="utf-8")
        print(f"wrote plans/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
