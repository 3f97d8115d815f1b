"""A loaded customer file as a run holds it: its model and where its id and PBXs stand (`CustomerSource`), or
what the cache knew of it, its model validated only when asked for (`CachedSource`), and `Claims`, what the
uniqueness checks read of one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from reconciler.desired import CustomerFile
from reconciler.diagnostics import Position
from reconciler.positions import Positions


@dataclass(frozen=True)
class CustomerSource:
    """One loaded customer file: the model and where its id and its PBXs stand (`read_customer`)."""

    path: str
    model: CustomerFile
    positions: Positions

    @property
    def customer(self) -> str:
        return self.model.customer

    @property
    def pbxes(self) -> Collection[str]:
        return self.model.pbxes.keys()

    def place(self, pbx: str | None = None) -> Position:
        """Where the customer's id (None) or the name of its PBX `pbx` stands."""
        return self.positions.value(("customer",)) if pbx is None else self.positions.key(("pbxes", pbx))


class CachedSource(CustomerSource):
    """A customer file the cache knew clean: its claims (id, PBX names, pins) at once, its model and positions
    when first asked for.

    A warm re-plan takes most customers' steps from the cache (reconciler.warm) and never needs
    their models, nor where their keys stand. `entry()` gives the cached model JSON and positions
    JSON of the file (None: not kept); the model is validated from its JSON when first asked for,
    and the positions stay JSON text until a lookup (`Positions.deferred`). What is not kept, or
    is no customer, or says other claims, gives way to `reload()`: the file's own bytes parsed
    again, (model, positions). Damage costs time, never another answer.
    """

    def __init__(self, path: str, claims: tuple[str, tuple[str, ...], tuple[str, ...]],
                 entry: Callable[[], tuple[str, str] | None], reload: Callable[[], tuple[CustomerFile, Positions]]):
        vars(self).update(path=path, _claims=claims, _entry=entry, _reload=reload, _model=None, _positions=None,
                          _parts=_UNREAD)  # frozen: its attributes set at once, past __setattr__

    def _cached(self) -> tuple[str, str] | None:
        if self._parts is _UNREAD:
            object.__setattr__(self, "_parts", self._entry())
        return self._parts

    @property
    def model(self) -> CustomerFile:
        if self._model is None:
            parts, model = self._cached(), None
            try:
                model = CustomerFile.model_validate_json(parts[0]) if parts is not None else None
            except ValidationError:  # not JSON, or not a customer: pydantic says both
                pass
            if model is None or (model.customer, tuple(model.pbxes), pins_of(model)) != self._claims:
                model = self._reload()[0]
            object.__setattr__(self, "_model", model)
        return self._model

    @property
    def positions(self) -> Positions:
        if self._positions is None:
            parts = self._cached()
            positions = (Positions.deferred(self.path, parts[1], lambda: self._reload()[1]) if parts is not None
                         else self._reload()[1])
            object.__setattr__(self, "_positions", positions)
        return self._positions

    @property
    def customer(self) -> str:
        return self._claims[0]

    @property
    def pbxes(self) -> Collection[str]:
        return self._claims[1]

    @property
    def pins(self) -> tuple[str, ...]:
        return self._claims[2]


_UNREAD = object()  # a cached source's entry not looked up yet


def pins_of(model: CustomerFile) -> tuple[str, ...]:
    """Every serial the file pins, on any of its PBXs, sorted."""
    return tuple(sorted(serial for pbx in model.pbxes.values() for serial in pbx.pinned))


class Claims(Protocol):
    """What the uniqueness checks read of a customer file: its id and PBX names and where they stand.

    A `CustomerSource` is one; so is the slimmer record a forked reader sends back (`validate`).
    """

    @property
    def path(self) -> str: ...

    @property
    def customer(self) -> str: ...

    @property
    def pbxes(self) -> Collection[str]: ...

    def place(self, pbx: str | None = None) -> Position: ...
