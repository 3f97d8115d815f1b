"""Desired state: one YAML file per customer (FORMAT.md section 2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reconciler.domain import (CLOUD_OPTIONS, Count, Id, Licenses, PbxModel, Product, Serial, Strict, Term,
                               no_items)
from reconciler.fieldsets import SharedFieldSets

EXAMPLE_PBX = {
    "model": "cloud",
    "region": "eu-central",
    "term": "1y",
    "licenses": {"basic": 10, "essential": 30, "premium": 5},
    "hwaas": {"WorkForce": 4},
}


class Contact(Strict, SharedFieldSets):
    name: str = Field(min_length=1, description="The contact's full name.", examples=["Jane Doe"])
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="The contact's e-mail address.",
                       examples=["jane@acme.example"])


def _only_null(*names: str) -> dict:
    return {"properties": {name: {"type": "null"} for name in names}}


# The validation rules between fields of one PBX (RULES.md), as JSON Schema conditions, so that an
# editor flags them where `reconciler validate` does.
PBX_CONDITIONS = [
    {"$comment": "cloud-needs-region, cloud-no-lifetime",
     "if": {"properties": {"model": {"const": "cloud"}}, "required": ["model"]},
     "then": {"required": ["region"], "properties": {"region": {"type": "string"},
                                                     "term": {"not": {"const": "lifetime"}}}}},
    {"$comment": "region-cloud-only, cloud-only-option",
     "if": {"properties": {"model": {"enum": ["virtual", "hardware"]}}, "required": ["model"]},
     "then": _only_null("region", *CLOUD_OPTIONS)},
    {"$comment": "hwaas-needs-subscription",
     "if": {"properties": {"term": {"const": "lifetime"}}, "required": ["term"]},
     "then": {"properties": {"hwaas": {"additionalProperties": {"const": 0}}, "pinned": {"maxProperties": 0}}}},
]


class DesiredPbx(Strict, SharedFieldSets):
    """One PBX; its key in `pbxes` is its name (the domain: NAME.wildixin.com)."""

    model_config = Strict.model_config | {"json_schema_extra": {"allOf": PBX_CONDITIONS}}

    model: PbxModel = Field(description="cloud (WPBX-CLOUD), virtual or hardware (WPBX-VM/HW).", examples=["cloud"])
    region: str | None = Field(None, min_length=1, description="Cloud only, and required there: the datacenter region.",
                               examples=["eu-central"])
    term: Term = Field(description="The billing term of the PBX and every service on it: 1m, 1y, 5y or lifetime "
                                   "(lifetime is not sold for cloud, and excludes HWaaS). Changing it removes "
                                   "every license, changes the term and adds them back.", examples=["1y"])
    licenses: Licenses = Field(default_factory=Licenses, description="Per-user licenses by profile.",
                               examples=[{"basic": 10, "essential": 30, "premium": 5}])
    storage_gb: Count | None = Field(None, description="Cloud only: company data storage in GB. Can be increased; "
                                                       "a decrease needs Customer Care.", examples=[50])
    static_ip: bool | None = Field(None, description="Cloud only: a static IP address.", examples=[False])
    ssh: bool | None = Field(None, description="Cloud only: SSH port 2222 open.", examples=[False])
    hwaas: dict[Product, Count] = Field(default_factory=dict,
                                        description="Rented devices (Hardware as a Service): product -> total count "
                                                    "on this PBX, pinned devices included. Absent: the PBX's "
                                                    "HWaaS devices are left alone (unmanaged); {}: none wanted.",
                                        examples=[{"WorkForce": 4, "MonoLED": 10}])
    pinned: dict[Serial, Literal["hwaas"]] = Field(default_factory=dict,
                                                   description="Specific existing devices, by serial, that must be on "
                                                               "this PBX as HWaaS: converted if CAPEX here, "
                                                               "transferred if on another PBX.",
                                                   examples=[{"9C7514000001": "hwaas"}])
    allow_deletion: bool = Field(False, description="Must be true before a plan may take this PBX to zero licenses "
                                                    "(a cloud PBX is then stopped after 5 days, deleted after 14).")

    @property
    def manages_hwaas(self) -> bool:
        """FORMAT.md: a PBX with no `hwaas` key leaves its HWaaS devices alone; `hwaas: {}` means none wanted.

        Only a subscription PBX holds HWaaS: one left with no licenses, or with a lifetime term, returns its
        devices whether the key is there or not.
        """
        return "hwaas" in self.model_fields_set or self.term == "lifetime" or self.licenses.total() == 0


def _customer_schema(schema: dict) -> None:
    schema["examples"] = [{"customer": "acme", "company": "Acme GmbH",
                           "contacts": [{"name": "Jane Doe", "email": "jane@acme.example"}],
                           "pbxes": {"acme": EXAMPLE_PBX}}]
    schema["required"].append("contacts")  # contact-required: an absent list is as wrong as an empty one


class CustomerFile(Strict, SharedFieldSets):
    """The desired state of one customer: its company, contacts and PBXs."""

    model_config = Strict.model_config | {"title": "reconciler customer file", "json_schema_extra": _customer_schema}

    customer: Id = Field(description="Stable id of the customer, unique in the repo: lowercase letters, digits, '-'.",
                         examples=["acme"])
    company: str = Field(min_length=1, description="The customer's company name, as in the portal.",
                         examples=["Acme GmbH"])
    contacts: list[Contact] = Field(default_factory=no_items,
                                    description="The portal needs at least one contact to create a customer.",
                                    json_schema_extra={"minItems": 1})  # contact-required
    pbxes: dict[Id, DesiredPbx] = Field(default_factory=dict,
                                        description="The customer's PBXs by name (their domain, NAME.wildixin.com). "
                                                    "A PBX absent here but present in the portal is decommissioned.")
