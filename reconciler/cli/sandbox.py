"""`sandbox load|reset|show|advance|serve`: the embedded portal, for rehearsals and tests.

Every change to the sandbox's file is made under the apply lock, so none happens under a
running apply; `serve` hands the file to the HTTP server (reconciler/api/), imported only
then (FastAPI is the heaviest import of all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reconciler.cli.common import EXIT_OK
from reconciler.diagnostics import ReconcilerError


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from reconciler.apply.command import sandbox_for
    from reconciler.apply.lock import acquire
    from reconciler.export import dump
    from reconciler.providers.snapshot import SnapshotProvider
    from reconciler.workflow import decide_today, parse_date

    sandbox, repo = sandbox_for(args.repo)
    if args.action == "serve":
        return _serve(args, sandbox)
    if args.action == "load":
        snapshot = SnapshotProvider(Path(args.state)).read()
        with acquire(sandbox.target, "sandbox load", provider=sandbox.name):  # never under a running apply
            sandbox.load(snapshot)
        print(f"loaded {args.state} into the sandbox {sandbox.target} "
              f"({len(snapshot.customers)} customer(s), as of {snapshot.as_of})", file=sys.stderr)
    elif args.action == "reset":
        with acquire(sandbox.target, "sandbox reset", provider=sandbox.name):
            sandbox.reset()
        print(f"reset the sandbox {sandbox.target}: no customers", file=sys.stderr)
    elif args.action == "advance":
        to = parse_date(args.to, "--to")
        with acquire(sandbox.target, "sandbox advance", provider=sandbox.name):
            sandbox.advance(to)
        print(f"moved the sandbox {sandbox.target}'s clock to {to}: renewals and deletions up to it happened",
              file=sys.stderr)
    else:
        snapshot = sandbox.read(decide_today(args.today, repo.config.timezone))
        sys.stdout.write(json.dumps(snapshot.model_dump(mode="json"), indent=2) + "\n" if args.format == "json"
                         else dump(snapshot.model_dump(mode="python")))
    return EXIT_OK


def _serve(args: argparse.Namespace, sandbox) -> int:
    from reconciler.api.auth import load_tokens
    from reconciler.api.faults import parse_faults
    from reconciler.api.server import serve

    tokens, faults = load_tokens(args.tokens), parse_faults(args.fault)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ReconcilerError("--tls-cert and --tls-key go together: the certificate and its private key (PEM)")
    scheme = "https" if args.tls_cert else "http"
    print(f"serving the sandbox {sandbox.target} at {scheme}://{args.host}:{args.port}/v1 "
          f"({len(tokens)} token(s); Ctrl-C stops)", file=sys.stderr, flush=True)
    serve(sandbox.path, tokens, args.host, args.port, latency_ms=args.latency_ms, faults=faults,
          fault_delay=args.fault_delay, tls=(args.tls_cert, args.tls_key) if args.tls_cert else None)
    return EXIT_OK
