"""The argument parser: every command, its flags, its --help examples, and shell completion from it.

Each command's flags are declared here and its function in the module of its group
(planning, applying, sandbox, files); shtab generates the completion scripts from this very
parser, so they never disagree with it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from reconciler import __version__
from reconciler.cli.applying import _cmd_apply, _cmd_force_unlock, _cmd_history
from reconciler.cli.common import COMMENT_LIMIT, EXIT_ERROR, EXIT_OK
from reconciler.cli.files import _cmd_export, _cmd_fmt, _cmd_schema
from reconciler.cli.planning import _cmd_plan, _cmd_show, _cmd_validate
from reconciler.cli.sandbox import _cmd_sandbox


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 (as Terraform's): 2 means "changes" with --detailed-exitcode."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


class _Commands(argparse._SubParsersAction):
    """The commands, each one's parser and flags made when it is the one chosen (or the whole parser is wanted).

    A run parses one command: making the other ten commands' parsers and flags was a tenth of a
    one-customer plan's own start-up (argparse looks up a translation of every word it writes).
    Names and one-line helps are registered at once, so `reconciler --help` and a mistyped
    command read exactly as before; `choices` names every command, None until it is made.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: dict[str, tuple[Callable[[argparse.ArgumentParser], None], dict]] = {}

    def add_command(self, name: str, flags: Callable[[argparse.ArgumentParser], None], **kwargs) -> None:
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), kwargs.pop("help")))  # as add_parser
        self.choices[name] = None
        self._pending[name] = (flags, kwargs)

    def build(self, name: str) -> None:
        flags, kwargs = self._pending.pop(name, (None, None))
        if flags is not None:  # what add_parser does, its help registered by add_command
            command = self.choices[name] = self._parser_class(prog=f"{self._prog_prefix} {name}", **kwargs)
            flags(command)
            _finish(name, command)

    def build_all(self) -> None:
        for name in list(self._pending):
            self.build(name)

    def __call__(self, parser, namespace, values, option_string=None):
        self.build(values[0])
        super().__call__(parser, namespace, values, option_string)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def build_parser(lazy: bool = False) -> argparse.ArgumentParser:
    """The whole parser; `lazy`: each command's flags are added only once it is the one chosen (`main`)."""
    parser = _Parser(
        prog="reconciler",
        description="Infrastructure as code for Wildix partners: plan and apply customers' PBXs, "
                    "licenses and HWaaS devices from YAML.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    parser.add_argument("-C", "--chdir", metavar="DIR",
                        help="switch to DIR before anything else, as if run there (Terraform's -chdir)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, action=_Commands)
    commands.add_command("validate", _validate_flags, help="check desired-state files; no provider needed",
                         description="Check desired-state files: a repo root, a directory or files. "
                                     "Every problem of every file is reported, with file, line and column.")
    commands.add_command("plan", _plan_flags, help="print the ordered change plan",
                         description="Diff the desired state against the portal, apply the portal's rules "
                                     "and print the ordered change plan.")
    commands.add_command("apply", _apply_flags, help="carry out a saved plan, or plan and ask for confirmation",
                         description="Carry out the ready steps of a saved plan (plan --out FILE), or plan "
                                     "the repo, show the plan and ask for confirmation. Blocked and manual "
                                     "steps are never carried out; they are listed at the end.")
    commands.add_command("show", _show_flags, help="render a saved plan",
                         description="Render a plan saved with `plan --out FILE`, in any plan format: "
                                     "what a pipeline shows of the plan it applies.")
    commands.add_command("force-unlock", _force_unlock_flags, help="break a stale apply lock",
                         description="Remove the apply lock with this ID (shown by the command that found "
                                     "it), e.g. after an apply was killed.")
    commands.add_command("sandbox", _sandbox_flags,
                         help="load, reset, show, advance or serve the embedded sandbox portal",
                         description="The sandbox: an emulation of the partner portal in a SQLite file "
                                     "(default .reconciler/sandbox.db), to rehearse before a real customer.")
    commands.add_command("export", _export_flags, help="write the portal's current state as files, for onboarding",
                         description="Write the current state as a snapshot (state.yaml) and as one "
                                     "desired-state file per customer (customers/ID.yaml): planning them "
                                     "against the same portal yields no steps.")
    commands.add_command("fmt", _fmt_flags, help="rewrite customer files and reconciler.yaml in the canonical form",
                         description="Rewrite customer files and reconciler.yaml in one canonical form (keys "
                                     "in FORMAT.md's order, license profiles in a fixed order, block style), "
                                     "keeping comments. Prints the files it changed.")
    commands.add_command("history", _history_flags, help="list past applies (from the backend)",
                         description="List past applies from the configured backend: who, where, when, "
                                     "the plan's checksum, and the steps done, failed and skipped.")
    commands.add_command("schema", _schema_flags, help="write the JSON Schemas of the file formats",
                         description="Write the JSON Schemas (customer file, repo configuration) "
                                     "generated from the models.")
    commands.add_command("completion", _completion_flags, help="print the shell completion script",
                         description="Print the completion script for bash, zsh or fish; install it "
                                     "with one command (see the examples).")
    if not lazy:
        commands.build_all()
    return parser


def _validate_flags(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("paths", nargs="*", metavar="PATH", help="repo roots, directories or files (default: .)")
    validate.add_argument("--format", choices=("text", "json", "github"), default="text",
                          help="text (default); json, for tools such as editors; github: GitHub Actions "
                               "annotations (::error file=...,line=...,col=...::...) on stdout, the text on stderr")
    validate.set_defaults(func=_cmd_validate)


def _plan_flags(plan: argparse.ArgumentParser) -> None:
    plan.add_argument("paths", nargs="*", metavar="PATH",
                      help="the repo root (default: .), or customer files to plan only those")
    plan.add_argument("--state", metavar="FILE", help="read the current state from a snapshot file")
    plan.add_argument("--today", metavar="YYYY-MM-DD",
                      help="the date rules are judged on (default: today in the repo's timezone)")
    plan.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text", help="output format")
    plan.add_argument("--out", metavar="FILE", help="also save the plan document (JSON) for apply")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when there are no changes, 1 on error, 2 when there are changes")
    plan.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    plan.add_argument("--changed-since", metavar="REF",
                      help="plan only the customers whose files changed since this Git ref (e.g. origin/main), "
                           "and the other side of their device transfers; deleted customer files are reported. "
                           "Compared with the merge base of REF and HEAD, as a pull request's diff is. When no "
                           "customer file changed, the markdown is empty (a pipeline posts no comment)")
    plan.add_argument("--due", action="store_true",
                      help="print the blocked steps by the date they become ready (what a daily scheduled "
                           "apply will do, and when) instead of the plan")
    plan.add_argument("--comment-limit", type=int, default=COMMENT_LIMIT, metavar="CHARS",
                      help=f"markdown: keep it within this many characters, a pull-request comment's limit "
                           f"(default: {COMMENT_LIMIT}, GitHub's; 0: no limit). Past it, the summary and the "
                           "customers with errors, warnings, blocked or manual steps are kept")
    plan.set_defaults(func=_cmd_plan)


def _apply_flags(apply: argparse.ArgumentParser) -> None:
    apply.add_argument("plan_file", nargs="?", metavar="PLAN_FILE", help="a plan saved with `plan --out`")
    apply.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    apply.add_argument("--today", metavar="YYYY-MM-DD", help="the date (default: today in the repo's timezone)")
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
                       help="wait this long for another apply's lock (default: 0, fail at once)")
    apply.add_argument("--parallelism", type=_positive, default=10, metavar="N",
                       help="carry out up to N independent steps at once on a portal over the network (default: "
                            "10); a customer's steps keep their order, transfers wait for both sides")
    apply.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    apply.add_argument("--replan", action="store_true",
                       help="with PLAN_FILE: if the saved plan no longer holds (made on another day, or the portal "
                            "changed since), plan again today and apply only if the steps are the reviewed ones "
                            "(ids and costs aside); otherwise refuse and show the difference")
    apply.set_defaults(func=_cmd_apply)


def _show_flags(show_plan: argparse.ArgumentParser) -> None:
    from reconciler.render import RENDERERS  # `show` offers every registered format

    show_plan.add_argument("plan_file", metavar="PLAN_FILE", help="a plan saved with `plan --out`")
    show_plan.add_argument("--format", choices=sorted(RENDERERS), default="text", help="output format")
    show_plan.add_argument("--repo", default=".", metavar="DIR", help="markdown: the repo directory its marker names "
                                                                 "(default: .)")
    show_plan.add_argument("--comment-limit", type=int, default=COMMENT_LIMIT, metavar="CHARS",
                      help=f"markdown: keep it within this many characters (default: {COMMENT_LIMIT}; 0: no limit)")
    show_plan.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    show_plan.set_defaults(func=_cmd_show)


def _force_unlock_flags(unlock: argparse.ArgumentParser) -> None:
    unlock.add_argument("lock_id", metavar="ID")
    unlock.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    unlock.add_argument("--force", action="store_true",
                        help="break the lock even when its holder is still running on this host (postgres: "
                             "even though its lease is live)")
    unlock.set_defaults(func=_cmd_force_unlock)


def _sandbox_flags(sandbox: argparse.ArgumentParser) -> None:
    sandbox_actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = sandbox_actions.add_parser("load", help="replace the sandbox's content with a snapshot file",
                                      description="Replace everything the sandbox holds with the customers, stock "
                                                  "and partner account of a snapshot file (FORMAT.md section 4), "
                                                  "e.g. one written by `reconciler export`.")
    load.add_argument("state", metavar="STATE.yaml")
    reset = sandbox_actions.add_parser("reset", help="empty the sandbox: no customers")
    show = sandbox_actions.add_parser("show", help="print the sandbox's state as a snapshot",
                                      description="Print what the sandbox holds on a date, as a snapshot: YAML that "
                                                  "`sandbox load` and `plan --state` read, or JSON for scripts.")
    show.add_argument("--today", metavar="YYYY-MM-DD", help="the date to read it on (default: today)")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml", help="yaml (default) or json")
    advance = sandbox_actions.add_parser("advance", help="move the sandbox's clock forward for good",
                                         description="Let time pass in the sandbox: renewals and the deletion "
                                                     "schedule up to DATE happen in the file (reads never do).")
    advance.add_argument("--to", required=True, metavar="YYYY-MM-DD", help="the portal's new date")
    serve = sandbox_actions.add_parser("serve", help="serve the sandbox over HTTP (the portal API, /v1)",
                                       description="Serve the sandbox as a portal over HTTP, for the http provider. "
                                                   "Tokens (read:TOKEN, write:TOKEN) come from --tokens FILE or "
                                                   "the RECONCILER_SERVE_TOKENS variable.")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8377, help="the port (default: 8377)")
    serve.add_argument("--tokens", metavar="FILE", help="the tokens file (default: RECONCILER_SERVE_TOKENS)")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (with --tls-key)")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                       help="add this much latency to every request, as a distant portal has")
    serve.add_argument("--fault", action="append", default=[], metavar="KIND[:COUNT]",
                       help="make the next COUNT step requests fail: 503, 429, drop-after-commit, timeout-after-commit "
                            "(rehearsals and tests; repeatable)")
    serve.add_argument("--fault-delay", type=float, default=10.0, metavar="SECONDS",
                       help="how long timeout-after-commit holds the answer (default: 10)")
    for action in (load, reset, show, advance, serve):
        action.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    sandbox.set_defaults(func=_cmd_sandbox)


def _export_flags(export: argparse.ArgumentParser) -> None:
    export.add_argument("repo", nargs="?", default=".", metavar="REPO",
                        help="the repo whose configuration names the provider (default: .)")
    export.add_argument("--out", default=".", metavar="DIR", help="where to write (default: the current directory)")
    export.add_argument("--state", metavar="FILE", help="read the current state from a snapshot file")
    export.add_argument("--today", metavar="YYYY-MM-DD", help="the date to read the portal on (default: today)")
    export.add_argument("--schema", metavar="URL", help="add a yaml-language-server $schema line to each file")
    export.set_defaults(func=_cmd_export)


def _fmt_flags(fmt: argparse.ArgumentParser) -> None:
    fmt.add_argument("paths", nargs="*", metavar="PATH",
                     help="files, or repo roots: their reconciler.yaml and customer files (default: .)")
    fmt.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 and name the files that are not in the canonical form")
    fmt.add_argument("--diff", action="store_true", help="print the changes as a unified diff")
    fmt.set_defaults(func=_cmd_fmt)


def _history_flags(history: argparse.ArgumentParser) -> None:
    history.add_argument("--repo", default=".", metavar="DIR", help="the repo root (default: .)")
    history.add_argument("--customer", metavar="ID", help="only the applies that touched this customer")
    history.add_argument("--since", metavar="YYYY-MM-DD", help="only the applies started on or after this date")
    history.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    history.set_defaults(func=_cmd_history)


def _schema_flags(schema: argparse.ArgumentParser) -> None:
    schema.add_argument("--out", default="schemas", metavar="DIR", help="output directory (default: schemas)")
    schema.set_defaults(func=_cmd_schema)


def _completion_flags(completion: argparse.ArgumentParser) -> None:
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    completion.set_defaults(func=_cmd_completion)


EXAMPLES = {  # the end of each command's --help, by the command's words after `reconciler`
    "validate": ["reconciler validate", "reconciler validate customers/acme.yaml", "reconciler validate --format json"],
    "plan": ["reconciler plan", "reconciler plan --out plans/today.json --detailed-exitcode",
             "reconciler plan --changed-since origin/main --format markdown"],
    "apply": ["reconciler apply plans/today.json", "reconciler apply --auto-approve",
              "reconciler -C partner-repo apply plans/today.json"],
    "force-unlock": ["reconciler force-unlock 1f2e3d4c"],
    "show": ["reconciler show plans/today.json", "reconciler show plans/today.json --format markdown"],
    "sandbox load": ["reconciler sandbox load examples/new-cloud-customer/state.yaml"],
    "sandbox reset": ["reconciler sandbox reset"],
    "sandbox show": ["reconciler sandbox show", "reconciler sandbox show --format json --today 2026-11-22"],
    "sandbox advance": ["reconciler sandbox advance --to 2026-12-15"],
    "sandbox serve": ["reconciler sandbox serve --tokens tokens.txt",
                      "reconciler sandbox serve --port 8377 --tokens tokens.txt --latency-ms 100"],
    "export": ["reconciler export --out onboarded", "reconciler export --state state.yaml --out onboarded"],
    "fmt": ["reconciler fmt", "reconciler fmt --check --diff", "reconciler fmt customers/acme.yaml"],
    "history": ["reconciler history", "reconciler history --customer acme --since 2026-11-01 --format json"],
    "schema": ["reconciler schema", "reconciler schema --out /tmp/schemas"],
    "completion": ["reconciler completion bash > ~/.local/share/bash-completion/completions/reconciler",
                   'reconciler completion zsh > "${fpath[1]}/_reconciler"',
                   "reconciler completion fish > ~/.config/fish/completions/reconciler.fish"],
}


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped as usual; the examples at the end kept line by line."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)


def _finish(name: str, command: argparse.ArgumentParser) -> None:
    """What every command has in common: --no-color, and two or three examples at the end of --help."""
    nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    if nested:
        for child_name, child in nested[0].choices.items():
            _finish(f"{name} {child_name}", child)
        return
    if "--no-color" not in command._option_string_actions:
        command.add_argument("--no-color", action="store_true", help="no colors (also: the NO_COLOR variable)")
    command.formatter_class = _HelpFormatter
    if name in EXAMPLES:
        command.epilog = "examples:\n" + "".join(f"  {line}\n" for line in EXAMPLES[name])


def _cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))  # every command, with all its flags
    return EXIT_OK
