"""Bearer tokens for the served portal: each token has a scope, read or write.

A read token may read the state and take no action; a write token may also carry out
steps and take leases (a plan on a pull request needs only read, an apply on the main
branch needs write). Tokens reach the server from a file (`--tokens FILE`) or from the
environment (RECONCILER_SERVE_TOKENS), never from its command line, where any user of
the machine could read them. Both hold entries `read:TOKEN` or `write:TOKEN`, separated
by whitespace, commas or new lines; `#` starts a comment.
"""

from __future__ import annotations

import hmac
import os
import re
from pathlib import Path

from reconciler.diagnostics import ReconcilerError

TOKENS_ENV = "RECONCILER_SERVE_TOKENS"
SCOPES = ("read", "write")
MIN_TOKEN_LENGTH = 16


def parse_tokens(text: str, source: str) -> dict[str, str]:
    """token -> scope; raises ReconcilerError naming `source` and the entry's number (never the token)."""
    tokens: dict[str, str] = {}
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    entries = [entry for entry in re.split(r"[\s,]+", " ".join(lines)) if entry]
    for number, entry in enumerate(entries, 1):
        scope, _, token = entry.partition(":")
        if scope not in SCOPES or not token:
            raise ReconcilerError(f"{source}: entry {number} is not read:TOKEN or write:TOKEN")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ReconcilerError(f"{source}: the token of entry {number} is shorter than {MIN_TOKEN_LENGTH} "
                                  "characters: use a long random one (e.g. `openssl rand -hex 24`)")
        tokens[token] = scope
    return tokens


def load_tokens(file: str | None) -> dict[str, str]:
    """The tokens from `file`, else from RECONCILER_SERVE_TOKENS; there must be at least one."""
    if file:
        try:
            tokens = parse_tokens(Path(file).read_text(encoding="utf-8"), file)
        except FileNotFoundError:
            raise ReconcilerError(f"tokens file {file} not found") from None
    else:
        tokens = parse_tokens(os.environ.get(TOKENS_ENV, ""), TOKENS_ENV)
    if not tokens:
        raise ReconcilerError(f"the portal needs at least one token: give a file with --tokens FILE or set "
                              f"{TOKENS_ENV}, with entries read:TOKEN and write:TOKEN")
    return tokens


def scope_of(authorization: str | None, tokens: dict[str, str]) -> str | None:
    """The scope of the request's `Authorization: Bearer TOKEN`, or None when it has no valid token."""
    if not authorization:
        return None
    kind, _, given = authorization.partition(" ")
    if kind.lower() != "bearer" or not given:
        return None
    found = None
    for token, scope in tokens.items():  # compare with every token, in constant time for each
        if hmac.compare_digest(token.encode(), given.strip().encode()):
            found = scope
    return found


def allows(scope: str | None, needed: str) -> bool:
    return scope == "write" or (scope == "read" and needed == "read")
