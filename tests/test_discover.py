"""Discovery lists a repo's customer files in one order, the order their paths sort in, whatever their names."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import Config
from reconciler.loader import load
from reconciler.repo import discover

NAMES = ["customers/a.yaml", "customers/a/b.yaml", "customers/a-b/c.yaml", "customers/a b.yaml",
         "customers/A.yaml", "customers/a/a-b.yaml", "customers/a.b/z.yml", "customers/z.yaml"]


def test_files_come_in_path_order_and_the_loader_names_each_relative_to_the_root(tmp_path, monkeypatch):
    for name in NAMES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"customer: c{len(name)}\n")
    (tmp_path / "customers/a/link.yaml").symlink_to(tmp_path / "customers/z.yaml")
    found = discover(tmp_path, Config())
    assert found == [str(path) for path in sorted(tmp_path / name for name in [*NAMES, "customers/a/link.yaml"])]
    monkeypatch.chdir(tmp_path)
    in_order = sorted([*NAMES, "customers/a/link.yaml"], key=lambda name: Path(name).parts)
    for root in [".", str(tmp_path)]:
        inputs = load([root])
        assert [inputs.names[shown] for shown in inputs.read] == [  # a link is named as its target
            "customers/z.yaml" if name.endswith("link.yaml") else name for name in in_order]
