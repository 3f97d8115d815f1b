"""`reconciler fmt`: one canonical form for customer files and reconciler.yaml, comments kept.

Two partners editing one repo write keys in different orders, flow and block styles mixed;
the diffs of their pull requests then show style, not change. The canonical form is the
one FORMAT.md shows: keys in the models' order (which is the order FORMAT.md lists them),
license profiles in the portal's order, block style, two-space indent. ruamel.yaml's
round-trip mode carries every comment and the quoting of every scalar through, so a
formatted file says what it said. `export` writes with the same settings, so an exported
repo is already formatted.
"""

from __future__ import annotations

import difflib
import io
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from reconciler.config import CONFIG_FILE, Config
from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, Position, error, has_errors
from reconciler.repo import discover, load_config
from reconciler.yamlio import is_blank, parse, read_text


def yaml() -> YAML:
    """The writer's settings, shared by fmt and export."""
    writer = YAML(typ="rt")
    writer.preserve_quotes = True
    writer.default_flow_style = False
    writer.width = 120
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return writer


def dump(data, header: str = "") -> str:
    stream = io.StringIO()
    stream.write(header)
    yaml().dump(data, stream)
    return stream.getvalue()


def _shape(annotation):
    """What a field holds, for the walk: a model, ("list", shape), ("dict", shape) or None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _shape(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if origin is list and args:
        return ("list", _shape(args[0]))
    if origin is dict and len(args) == 2:
        return ("dict", _shape(args[1]))
    if len(args) == 1:  # X | None
        return _shape(args[0])
    return None


def canonical(node, shape) -> None:
    """Reorder `node`'s keys in place as the model `shape` lists its fields, block style all the way down."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        node.fa.set_block_style()
    if isinstance(shape, type) and isinstance(node, CommentedMap):
        fields = shape.model_fields
        for key in [key for key in fields if key in node] + [key for key in node if key not in fields]:
            node.move_to_end(key)
        for key, value in node.items():
            if key in fields:
                canonical(value, _shape(fields[key].annotation))
    elif isinstance(shape, tuple) and shape[0] == "list" and isinstance(node, CommentedSeq):
        for item in node:
            canonical(item, shape[1])
    elif isinstance(shape, tuple) and shape[0] == "dict" and isinstance(node, CommentedMap):
        for value in node.values():
            canonical(value, shape[1])


def model_for(path: Path) -> type[BaseModel]:
    return Config if path.name == CONFIG_FILE else CustomerFile


def format_text(text: str, model: type[BaseModel]) -> str:
    reader = yaml()
    data = reader.load(text)
    canonical(data, model)
    return dump(data)


@dataclass(frozen=True)
class Formatted:
    path: Path
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        name = str(self.path)
        return "".join(difflib.unified_diff(self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
                                            f"{name} (before)", f"{name} (formatted)"))


def format_file(path: Path) -> tuple[Formatted | None, list[Diagnostic]]:
    """The file and its canonical form; None with the reasons when it cannot be read as YAML."""
    text, problems = read_text(path, str(path))
    if text is None:
        return None, problems
    if is_blank(text):  # comments only: a configuration of defaults, nothing to order
        return Formatted(path, text, text), []
    document, problems = parse(text, str(path))
    if document is None or has_errors(problems):
        return None, problems
    try:
        return Formatted(path, text, format_text(text, model_for(path))), []
    except MarkedYAMLError as exc:  # what the project's reader lets through and ruamel's round trip does not
        mark = exc.problem_mark
        where = Position(str(path), mark.line + 1, mark.column + 1) if mark else Position(str(path))
        return None, [error(where, "schema", f"cannot format: {exc.problem}")]


def files_to_format(paths: list[str]) -> list[Path]:
    """Each file named, and for each directory its reconciler.yaml and the customer files `plan` would read."""
    found: list[Path] = []
    for raw in paths or ["."]:
        target = Path(raw)
        if not target.is_dir():
            found.append(target)  # a missing file is reported when it is read
            continue
        config_path = target / CONFIG_FILE
        config = Config()
        if config_path.is_file():
            found.append(config_path)
            config = load_config(config_path)[0]
        found += map(Path, discover(target, config))
    return list(dict.fromkeys(found))
