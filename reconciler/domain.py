"""The portal's vocabulary, shared by desired state, current state and the planner.

Field descriptions here become the JSON Schemas' descriptions, which editors show
beside every key: write them for a partner, not for a programmer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reconciler.fieldsets import SharedFieldSets

MAX_COUNT = 100_000  # far above any real PBX; catches typos such as 30000000

Term = Literal["1m", "1y", "5y", "lifetime"]
PbxModel = Literal["cloud", "virtual", "hardware"]
Billing = Literal["hwaas", "capex"]

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=63)]
Serial = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$", max_length=40)]
Product = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

# License profile -> the portal's product code (the price book and the portal's forms use these).
PROFILE_CODES = {
    "basic": "PBX-BASIC",
    "essential": "UC-ESSENTIAL",
    "business": "UC-BUSINESS",
    "premium": "UC-PREMIUM",
    "wizyconf": "UC-WIZYCONF",
    "service": "PBX-SERVICE",
}
PROFILES = tuple(PROFILE_CODES)
CLOUD_OPTIONS = ("storage_gb", "static_ip", "ssh")


def _is_none(value) -> bool:
    return value is None


def absent_when_none(**field) -> Any:
    """An optional field (default None) that is absent from the document when None, not null.

    pydantic's `exclude_if`, judged in its serializer field by field: cheaper than a model
    serializer that dumps the model and then takes keys out (a plan dumps thousands of steps).
    """
    return Field(None, exclude_if=_is_none, **field)


def no_items() -> list:
    """The `default_factory` of a list field that starts empty: the same `[]` as `list`, cheaper to define.

    pydantic reads a default factory's signature as it builds a model, and a builtin's is parsed from
    its text signature (about 0.4 ms each, the first also setting up the tokenizer): `list` cost a
    one-customer plan 30 ms of start-up, a function of ours costs nothing to read.
    """
    return []


class Strict(BaseModel):
    """Base of every model read from a file: unknown keys are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Licenses(Strict, SharedFieldSets):
    """Per-user licenses by profile; a missing profile means 0."""

    basic: Count = Field(0, description="PBX-BASIC users: unattended phones, fax machines, door phones.")
    essential: Count = Field(0, description="UC-ESSENTIAL users: Collaboration, mobile apps, presence and chat.")
    business: Count = Field(0, description="UC-BUSINESS users: Wizyconf rooms, Kite, WebAPI and TAPI.")
    premium: Count = Field(0, description="UC-PREMIUM users: CDR-View, contact center, WBI services.")
    wizyconf: Count = Field(0, description="UC-WIZYCONF: one per Wizyconf web conference user.")
    service: Count = Field(0, description="PBX-SERVICE (free of charge): park orbits, virtual users.")

    def counts(self) -> dict[str, int]:  # PROFILES' order; written out: a plan asks a hundred thousand times
        return {"basic": self.basic, "essential": self.essential, "business": self.business,
                "premium": self.premium, "wizyconf": self.wizyconf, "service": self.service}

    def total(self) -> int:
        return self.basic + self.essential + self.business + self.premium + self.wizyconf + self.service
