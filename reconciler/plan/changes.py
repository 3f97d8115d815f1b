"""What a plan step changes: one model per action (FORMAT.md section 6), the one shape of `changes`.

The planner writes these, and the pricing, the renderers, the sandbox, the HTTP provider and
the published schema read them, by field: a step whose changes lack what its action needs is
refused where it comes in (a saved plan, the portal's API), with the field named, never read
half-way by a renderer or the portal. Each model keeps the JSON document's keys and their
order exactly (`from` and `licenses.<profile>` by alias); a field left out is absent from the
document, not null. Pairs are `[before, after]`. `FORMS` names each action's model by the
action's name in the document (what a renderer reads); plan/model.py makes one step class per
action of them (the discriminated union). This module imports no other part of the plan, so a
renderer reads typed changes without importing the plan's model.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from reconciler.domain import PROFILES, PbxModel, Term, absent_when_none

T = TypeVar("T")
Pair = tuple[T, T]  # [before, after]
Billing = Pair[str]  # ["capex", "hwaas"]: a device that changes how it is paid for


class Changes(BaseModel):
    """Base of every action's changes: frozen, no unknown key, optional fields absent when None
    (`absent_when_none`: `region` of a virtual PBX, `billing` of a transfer)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True,
                              defer_build=True)

    def document(self) -> dict:
        """The changes as the JSON document holds them (its keys, in its order)."""
        return self.model_dump(mode="json")


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    email: str


class CreateCustomer(Changes):
    """The portal's new-customer form."""

    company: str
    contacts: list[Contact]


class Devices(Changes):
    """A number of one product: what every hardware and device step moves."""

    product: str = Field(description="The portal's product code (WPBX-HW) or the device (WorkForce, ...).")
    quantity: int = Field(description="How many units the step moves.")


class PurchaseHardwarePbx(Devices):
    """The purchase of the hardware PBX itself (`{"product": "WPBX-HW", "quantity": 1}`)."""


class CreatePbx(Changes):
    """The portal's "add PBX" form: the initial counts of all six profiles, and region and cloud options only
    when set. A new PBX needs no add-licenses step."""

    name: str
    model: PbxModel
    term: Term
    licenses: dict[str, int] = Field(description="License profile -> the count the PBX starts with.")
    region: str | None = absent_when_none()
    storage_gb: int | None = absent_when_none()
    static_ip: bool | None = absent_when_none()
    ssh: bool | None = absent_when_none()


class LicenseMoves(Changes):
    """`{"licenses.<profile>": [before, after]}` of each profile that moves (add-licenses, remove-licenses):
    up for add, down for remove; in a term change, remove takes every profile to 0 and add brings the
    desired counts back from 0."""

    basic: Pair[int] | None = absent_when_none(alias="licenses.basic")
    essential: Pair[int] | None = absent_when_none(alias="licenses.essential")
    business: Pair[int] | None = absent_when_none(alias="licenses.business")
    premium: Pair[int] | None = absent_when_none(alias="licenses.premium")
    wizyconf: Pair[int] | None = absent_when_none(alias="licenses.wizyconf")
    service: Pair[int] | None = absent_when_none(alias="licenses.service")

    @classmethod
    def of(cls, moves: dict[str, Pair[int]]) -> LicenseMoves:
        """From profile -> pair (the profiles in PROFILES order)."""
        return cls(**{profile: moves[profile] for profile in PROFILES if profile in moves})

    def moves(self) -> dict[str, Pair[int]]:
        """Profile -> [before, after], the profiles that move, in PROFILES order."""
        return {profile: pair for profile in PROFILES if (pair := getattr(self, profile)) is not None}


class ChangeTerm(Changes):
    """`{"term": [before, after]}`: the PBX's new term (through zero licenses: FORMAT.md section 2)."""

    term: Pair[Term]


class SetOptions(Changes):
    """Cloud options that move; a manual set-options may carry a model or region move instead."""

    model: Pair[PbxModel] | None = absent_when_none()
    region: Pair[str | None] | None = absent_when_none()
    storage_gb: Pair[int | None] | None = absent_when_none()
    static_ip: Pair[bool | None] | None = absent_when_none()
    ssh: Pair[bool | None] | None = absent_when_none()

    def moves(self) -> dict[str, Pair]:
        """Field -> [before, after] of what moves, in document order."""
        return {name: pair for name in type(self).model_fields if (pair := getattr(self, name)) is not None}

    @property
    def moves_pbx(self) -> bool:
        """A model or region move (done by a person), not a cloud option."""
        return self.model is not None or self.region is not None


class OrderHwaas(Devices):
    """An order (no serials yet), with the HWaaS count of its product the order expects on its PBX."""

    expected: dict[str, StrictInt] | None = absent_when_none(
        description="Product -> the HWaaS count the portal must hold on the PBX when the order runs (stale-plan).")


class NamedDevices(Devices):
    """Devices named by serial (sorted)."""

    serials: list[str]


class ConvertToHwaas(NamedDevices):
    """CAPEX devices on the PBX that become HWaaS: `billing` is `["capex", "hwaas"]`."""

    billing: Billing


class TransferHwaas(NamedDevices):
    """Devices that come to the PBX from another one (`from`), planned once, on the receiving side."""

    source: str = Field(alias="from", description="customer/pbx the devices come from.")
    billing: Billing | None = absent_when_none(description="Present when the device is CAPEX where it is.")


class ReturnHwaas(NamedDevices):
    """HWaaS devices the PBX gives back, oldest eligible first."""


# Each action's changes, by the action's name in the document.
FORMS: dict[str, type[Changes]] = {
    "create-customer": CreateCustomer, "purchase-hardware-pbx": PurchaseHardwarePbx, "create-pbx": CreatePbx,
    "add-licenses": LicenseMoves, "remove-licenses": LicenseMoves, "change-term": ChangeTerm,
    "set-options": SetOptions, "order-hwaas": OrderHwaas, "convert-to-hwaas": ConvertToHwaas,
    "transfer-hwaas": TransferHwaas, "return-hwaas": ReturnHwaas,
}


def changes_of(step: dict) -> Changes:
    """The typed `changes` of a step's JSON document: how a renderer reads them (KeyError: no such action)."""
    return FORMS[step["action"]].model_validate(step["changes"])


def transfer_source(changes) -> str | None:
    """The `from` of a transfer's changes read from a document not validated yet (what a saved plan locks)."""
    source = changes.get("from") if isinstance(changes, dict) else None
    return source if isinstance(source, str) and source else None
