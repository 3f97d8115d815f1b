"""Current state: the snapshot of what the portal holds (FORMAT.md section 4)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from reconciler.domain import Billing, Count, Id, Licenses, PbxModel, Product, Serial, Strict, Term
from reconciler.desired import Contact


class Device(Strict):
    serial: Serial
    product: Product
    billing: Billing
    since: dt.date | None = Field(None, description="HWaaS since (order or conversion date); starts the 6-month minimum.")
    commitment: bool = Field(False, description="Under a commitment: exempt from the 6-month minimum, "
                                                "returned through Customer Care.")


class CurrentPbx(Strict):
    serial: str = Field(min_length=1)
    model: PbxModel
    region: str | None = None
    term: Term
    activated_on: dt.date | None = None
    expires_on: dt.date | None = Field(None, description="Renewal and invoice date of the PBX and every service on it.")
    status: Literal["active", "deletion-scheduled", "stopped"] = "active"
    deletion_scheduled_on: dt.date | None = None
    licenses: Licenses = Field(default_factory=Licenses)
    storage_gb: Count | None = None
    static_ip: bool | None = None
    ssh: bool | None = None
    devices: list[Device] = Field(default_factory=list)


class CurrentCustomer(Strict):
    company: str
    contacts: list[Contact] = Field(default_factory=list)
    pbxes: dict[Id, CurrentPbx] = Field(default_factory=dict)


class Partner(Strict):
    overdue_since: dt.date | None = Field(None, description="Date of the oldest unpaid invoice past due, or null.")


class Snapshot(Strict):
    """What the portal holds on `as_of`."""

    model_config = Strict.model_config | {"title": "reconciler current-state snapshot"}

    as_of: dt.date
    partner: Partner = Field(default_factory=Partner)
    stock: dict[Product, int] = Field(default_factory=dict, description="Units in stock per product (may go negative).")
    catalog: dict[str, list[Product]] | None = Field(None, description="The products the portal sells, by category.")
    customers: dict[Id, CurrentCustomer] = Field(default_factory=dict)
