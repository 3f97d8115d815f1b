"""Providers: the only places that talk to a portal (or a file standing for one).

A provider reads the current state as a `Snapshot`; apply-capable providers also
carry out one step at a time (that half arrives with apply).
"""

from __future__ import annotations

from typing import Protocol

from reconciler.snapshot import Snapshot


class Provider(Protocol):
    name: str

    def read(self) -> Snapshot:
        """The portal's current state; raises ReconcilerError (with diagnostics) when it cannot."""
        ...
