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
    """A customer file the cache knew clean: its id, PBX names and pins at once, its model on first use.

    A warm re-plan takes most customers' steps from the cache (reconciler.warm) and never needs
    their models. The model is validated from the cached JSON when first asked for; JSON that is
    no customer gives way to `reload`, the file's own bytes parsed again (damage costs time only).
    """

    def __init__(self, path: str, model_json: str, positions: Positions, claims: tuple[str, tuple, tuple],
                 reload: Callable[[], CustomerFile]):
        for name, value in (("path", path), ("positions", positions), ("_json", model_json), ("_claims", claims),
                            ("_reload", reload), ("_model", None)):
            object.__setattr__(self, name, value)

    @property
    def model(self) -> CustomerFile:
        if self._model is None:
            try:
                model = CustomerFile.model_validate_json(self._json)
            except ValidationError:  # not JSON, or not a customer: pydantic says both
                model = None
            if model is None or (model.customer, tuple(model.pbxes), pins_of(model)) != self._claims:
                model = self._reload()
            object.__setattr__(self, "_model", model)
        return self._model

    @property
    def customer(self) -> str:
        return self._claims[0]

    @property
    def pbxes(self) -> Collection[str]:
        return self._claims[1]

    @property
    def pins(self) -> tuple[str, ...]:
        return self._claims[2]


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
