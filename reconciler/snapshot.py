"""Current state: the snapshot of what the portal holds (FORMAT.md section 4)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from reconciler.domain import (Billing, Count, Id, Licenses, PbxModel, Product, Serial, Strict, Term,
                               no_items)
from reconciler.desired import Contact
from reconciler.fieldsets import SharedFieldSets


class Device(Strict, SharedFieldSets):
    serial: Serial = Field(description="The device's serial number (its MAC address for phones).")
    product: Product = Field(description="The product, as in the catalog (WorkForce, MonoLED, ...).")
    billing: Billing = Field(description="hwaas (rented, billed with the PBX) or capex (bought).")
    since: dt.date | None = Field(None, description="HWaaS since (order or conversion date); starts the 6-month minimum.")
    commitment: bool = Field(False, description="Under a commitment: exempt from the 6-month minimum, "
                                                "returned through Customer Care.")


class CurrentPbx(Strict, SharedFieldSets):
    serial: str = Field(min_length=1, description="The PBX's serial in the portal.")
    model: PbxModel = Field(description="cloud, virtual or hardware.")
    region: str | None = Field(None, description="Cloud: the datacenter region; else null.")
    term: Term = Field(description="The billing term of the PBX and every service on it: 1m, 1y, 5y or lifetime.")
    activated_on: dt.date | None = Field(None, description="The date the PBX was activated.")
    expires_on: dt.date | None = Field(None, description="Renewal and invoice date of the PBX and every service on it.")
    status: Literal["active", "deletion-scheduled", "stopped"] = Field(
        "active", description="active, deletion-scheduled (a cloud PBX with no licenses) or stopped.")
    deletion_scheduled_on: dt.date | None = Field(None, description="When the PBX is to be deleted, or null.")
    licenses: Licenses = Field(default_factory=Licenses, description="Per-user licenses by profile.")
    storage_gb: Count | None = Field(None, description="Cloud: company data storage in GB.")
    static_ip: bool | None = Field(None, description="Cloud: a static IP address.")
    ssh: bool | None = Field(None, description="Cloud: SSH port 2222 open.")
    devices: list[Device] = Field(default_factory=no_items, description="The devices on the PBX, HWaaS and CAPEX.")


class CurrentCustomer(Strict, SharedFieldSets):
    company: str = Field(description="The customer's company name.")
    contacts: list[Contact] = Field(default_factory=no_items, description="The customer's contacts.")
    pbxes: dict[Id, CurrentPbx] = Field(default_factory=dict, description="The customer's PBXs by name.")


class Partner(Strict):
    overdue_since: dt.date | None = Field(None, description="Date of the oldest unpaid invoice past due, or null.")


class Snapshot(Strict):
    """What the portal holds on `as_of`."""

    model_config = Strict.model_config | {"title": "reconciler current-state snapshot"}

    as_of: dt.date = Field(description="The date the state was read on.")
    partner: Partner = Field(default_factory=Partner, description="The partner's account.")
    stock: dict[Product, int] = Field(default_factory=dict, description="Units in stock per product (may go negative).")
    catalog: dict[str, list[Product]] | None = Field(None, description="The products the portal sells, by category.")
    customers: dict[Id, CurrentCustomer] = Field(default_factory=dict, description="The customers by id.")
