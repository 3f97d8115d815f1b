"""`reconciler validate` end to end, in-process: exit codes, order, completeness, JSON, repo discovery.

Each test builds a small repo under tmp_path and runs `reconciler.cli.main`. Paths given to
the command are relative to tmp_path (the working directory), as a partner would type them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main


def customer(name: str, *, extra: str = "") -> str:
    """A valid customer file (9 lines, plus `extra` lines at the end)."""
    return f"""\
customer: {name}
company: {name.title()} GmbH
contacts:
  - {{name: Jane Doe, email: jane@{name}.example}}
pbxes:
  {name}:
    model: cloud
    region: eu-central
    term: 1y
{extra}"""


SNAPSHOT = """\
as_of: 2026-11-22
partner:
  overdue_since: null
customers: {}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def validate(capsys, *args: str) -> tuple[int, list[str], str]:
    """(exit code, stderr lines less the summary, the summary line)."""
    code = main(["validate", *args])
    err = capsys.readouterr().err.splitlines()
    assert "Traceback" not in "\n".join(err)
    return code, err[:-1], err[-1]


def validate_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["validate", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- exit codes --------------------------------------------------------------------------------

def test_a_valid_file_exits_0(tmp_path, capsys):
    write(tmp_path, {"acme.yaml": customer("acme")})
    assert validate(capsys, "acme.yaml") == (0, [], "1 file checked, 1 customer: all valid.")


def test_a_valid_directory_exits_0(tmp_path, capsys):
    write(tmp_path, {"repo/customers/acme.yaml": customer("acme"), "repo/customers/globex.yaml": customer("globex")})
    assert validate(capsys, "repo") == (0, [], "2 files checked, 2 customers: all valid.")


def test_the_default_path_is_the_working_directory(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme")})
    assert validate(capsys)[0] == 0


def test_one_invalid_file_among_valid_ones_exits_1(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme"),
                     "customers/globex.yaml": customer("globex", extra="    licenses: {basic: -1}\n")})
    code, lines, summary = validate(capsys, ".")
    assert code == 1
    assert lines == ["customers/globex.yaml:10:23: error[schema]: "
                     "'pbxes.globex.licenses.basic' must be 0 or more, not -1"]
    assert summary == "2 files checked: 1 error."


# --- order and completeness --------------------------------------------------------------------

def test_diagnostics_are_sorted_by_file_then_line_across_files(tmp_path, capsys):
    write(tmp_path, {
        # b.yaml: problems on lines 12 and 3 (3 is reported first)
        "b.yaml": customer("bravo", extra="    licenses:\n      basic: 2.5\n").replace("Jane Doe", "''"),
        # a.yaml: problems on lines 10 and 2, a line number of two digits after one of one digit
        "a.yaml": customer("alpha", extra="    colour: red\n").replace("Alpha GmbH", "''"),
    })
    code, lines, _ = validate(capsys, "b.yaml", "a.yaml")
    assert code == 1
    assert [line.split(": ")[0] for line in lines] == ["a.yaml:2:10", "a.yaml:10:5", "b.yaml:4:12", "b.yaml:11:14"]


def test_every_problem_of_every_file_is_reported_in_one_run(tmp_path, capsys):
    write(tmp_path, {
        "customers/alpha.yaml": customer("alpha"),
        "customers/bravo.yaml": "customer: bravo\ncompany: [unclosed\n",
        "customers/charlie.yaml": customer("charlie", extra="    licenses: {basic: -1, premuim: 2}\n"
                                                          "    sssh: true\n"),
        "customers/delta.yaml": customer("delta").replace("region: eu-central", "region: ''")
                                                 .replace("term: 1y", "term: lifetime"),
        "customers/echo.yaml": "customer: echo\ncompany: Echo\n"
                               "pbxes: {echo: {model: virtual, term: 1y, region: x, ssh: false}}\n",
    })
    code, lines, summary = validate(capsys, ".")
    assert code == 1
    places = [(line.split(":")[0], line.split("error[")[1].split("]")[0]) for line in lines]
    assert places == [
        ("customers/bravo.yaml", "schema"),
        ("customers/charlie.yaml", "schema"), ("customers/charlie.yaml", "schema"),
        ("customers/charlie.yaml", "schema"),
        ("customers/delta.yaml", "schema"),
        ("customers/echo.yaml", "contact-required"), ("customers/echo.yaml", "region-cloud-only"),
        ("customers/echo.yaml", "cloud-only-option"),
    ]
    assert summary == "5 files checked: 8 errors."


# --- JSON --------------------------------------------------------------------------------------

def test_json_output_carries_every_field(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme", extra="    static_ip: true\n").replace("cloud", "virtual")
                                                                    .replace("    region: eu-central\n", ""),
                     "customers/globex.yaml": customer("globex").replace("term: 1y", "term: 2y")})
    code, document = validate_json(capsys, ".")
    assert code == 1
    assert (document["files"], document["customers"], document["errors"]) == (2, 1, 2)
    assert document["diagnostics"] == [
        {"file": "customers/acme.yaml", "line": 9, "column": 5, "rule": "cloud-only-option", "severity": "error",
         "message": "'static_ip' is a cloud-only option; PBX 'acme' is virtual", "customer": "acme", "pbx": "acme"},
        {"file": "customers/globex.yaml", "line": 9, "column": 11, "rule": "schema", "severity": "error",
         "message": "'pbxes.globex.term' must be one of '1m', '1y', '5y', 'lifetime', not the text '2y'"},
    ]


def test_json_output_of_a_valid_repo(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme")})
    assert validate_json(capsys, ".") == (0, {"files": 1, "customers": 1, "errors": 0, "diagnostics": []})


def test_json_output_of_a_file_level_problem_has_no_line(tmp_path, capsys):
    (tmp_path / "blob.yaml").write_bytes(b"\x00\x01")
    code, document = validate_json(capsys, "blob.yaml")
    assert code == 1
    [diagnostic] = document["diagnostics"]
    assert diagnostic["file"] == "blob.yaml" and "line" not in diagnostic and "column" not in diagnostic


# --- unique customer ids -----------------------------------------------------------------------

def test_two_files_of_a_repo_claiming_one_customer(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme"),
                     "customers/old/acme-copy.yaml": "# a copy\n" + customer("acme")})
    code, lines, _ = validate(capsys, ".")
    assert code == 1
    assert lines == ["customers/old/acme-copy.yaml:2:11: error[schema]: "
                     "customer 'acme' is already defined in customers/acme.yaml:1"]


def test_two_files_given_on_the_command_line_claiming_one_customer(tmp_path, capsys):
    write(tmp_path, {"one/acme.yaml": "\n\n" + customer("acme"), "two/acme.yaml": customer("acme")})
    code, lines, _ = validate(capsys, "one/acme.yaml", "two/acme.yaml")
    assert code == 1
    assert lines == ["two/acme.yaml:1:11: error[schema]: customer 'acme' is already defined in one/acme.yaml:3"]


def test_the_same_file_named_twice_is_checked_once(tmp_path, capsys):
    write(tmp_path, {"acme.yaml": customer("acme")})
    assert validate(capsys, "acme.yaml", "./acme.yaml") == (0, [], "1 file checked, 1 customer: all valid.")


def test_overlapping_paths_report_each_problem_once(tmp_path, capsys):
    write(tmp_path, {"customers/acme.yaml": customer("acme", extra="    licenses: {basic: -1}\n")})
    code, lines, summary = validate(capsys, "customers", "customers/acme.yaml")
    assert (code, len(lines), summary) == (1, 1, "1 file checked: 1 error.")


# --- what is found, and what is not ------------------------------------------------------------

def test_a_directory_with_no_customer_files(tmp_path, capsys):
    write(tmp_path, {"empty/README.md": "nothing here\n", "empty/.hidden.yaml": customer("acme")})
    code, lines, _ = validate(capsys, "empty")
    assert code == 1
    assert lines == ["empty: error[schema]: no customer files found "
                     "(expected *.yaml files, each with a 'customer:' key)"]


def test_an_empty_customers_directory_is_named(tmp_path, capsys):
    (tmp_path / "repo" / "customers").mkdir(parents=True)
    code, lines, _ = validate(capsys, "repo")
    assert code == 1
    assert lines and lines[0].startswith("repo/customers: error[schema]: no customer files found")


def test_a_path_that_does_not_exist(tmp_path, capsys):
    write(tmp_path, {"acme.yaml": customer("acme")})
    code, lines, _ = validate(capsys, "acme.yaml", "nowhere/globex.yaml")
    assert code == 1
    assert lines == ["nowhere/globex.yaml: error[schema]: no such file or directory"]


def test_a_repo_root_with_customers_and_configuration(tmp_path, capsys):
    write(tmp_path, {
        "repo/reconciler.yaml": "timezone: Europe/Rom\npolicy: {deletions: guarded}\n",
        "repo/customers/acme.yaml": customer("acme"),
        "repo/customers/emea/globex.yml": customer("globex", extra="    ssh: maybe\n"),
        "repo/customers/.draft.yaml": "not: [valid",       # hidden: not a customer file
        "repo/customers/notes.txt": "not: [valid",         # not YAML by name
        "repo/state.yaml": SNAPSHOT,                       # outside customers/: not a customer file
        "repo/plans/acme.json": "{}",
    })
    code, lines, summary = validate(capsys, "repo")
    assert code == 1
    assert lines == [
        "repo/customers/emea/globex.yml:10:10: error[schema]: 'pbxes.globex.ssh' must be true or false, "
        "not the text 'maybe'",
        "repo/reconciler.yaml:1:11: error[schema]: unknown timezone 'Europe/Rom': "
        "use an IANA name such as Europe/Rome or UTC",
    ]
    assert summary == "3 files checked: 2 errors."


def test_a_root_without_customers_dir_skips_the_configured_snapshot(tmp_path, capsys):
    write(tmp_path, {
        "reconciler.yaml": "provider: {kind: snapshot, path: state.yaml}\n",
        "state.yaml": SNAPSHOT,
        "acme.yaml": customer("acme"),
    })
    assert validate(capsys, ".") == (0, [], "2 files checked, 1 customer: all valid.")


def test_a_root_without_customers_dir_takes_other_yaml_files_for_customers(tmp_path, capsys):
    """Without the provider setting, state.yaml is one more customer file, and an invalid one."""
    write(tmp_path, {"state.yaml": SNAPSHOT, "acme.yaml": customer("acme")})
    code, lines, _ = validate(capsys, ".")
    assert code == 1
    assert lines and all(line.startswith("state.yaml:") for line in lines)


def test_a_config_error_does_not_turn_the_snapshot_into_a_customer_file(tmp_path, capsys):
    write(tmp_path, {
        "reconciler.yaml": "provider: {kind: snapshot, path: state.yaml}\npolicy: {prnue: true}\n",
        "state.yaml": SNAPSHOT,
        "acme.yaml": customer("acme"),
    })
    code, lines, _ = validate(capsys, ".")
    assert code == 1
    assert lines == ["reconciler.yaml:2:10: error[schema]: unknown key 'prnue': did you mean 'prune'?"]


# --- no side effects ---------------------------------------------------------------------------

def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under root, with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_writes_nothing(tmp_path, capsys, fmt):
    write(tmp_path, {
        "repo/reconciler.yaml": "provider: {kind: sandbox, path: .reconciler/sandbox.db}\n",
        "repo/customers/acme.yaml": customer("acme"),
        "repo/customers/globex.yaml": customer("globex", extra="    licenses: {basic: -1}\n"),
        "loose.yaml": "customer: [\n",
    })
    before = listing(tmp_path)
    main(["validate", "--format", fmt, "repo", "loose.yaml", "repo/customers/acme.yaml"])
    capsys.readouterr()
    assert listing(tmp_path) == before


def test_a_pbx_name_is_unique_across_customers(tmp_path, capsys):
    """A PBX's name is its domain (NAME.wildixin.com): two customers cannot both want 'shared'."""
    write(tmp_path, {"customers/acme.yaml": customer("acme").replace("  acme:\n", "  shared:\n"),
                     "customers/globex.yaml": customer("globex").replace("  globex:\n", "  shared:\n")})
    code, lines, _ = validate(capsys, ".")
    assert code == 1
    assert lines == ["customers/globex.yaml:6:3: error[schema]: PBX name 'shared' is already used by customer 'acme' "
                     "(customers/acme.yaml:6): a PBX name is its domain, shared.wildixin.com, unique in the portal"]
