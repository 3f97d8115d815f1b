"""Repo configuration: reconciler.yaml (FORMAT.md section 3), every setting optional."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reconciler.domain import Strict

CONFIG_FILE = "reconciler.yaml"


class ProviderConfig(Strict):
    kind: Literal["sandbox", "snapshot", "http"] = Field(
        "sandbox", description="Where current state comes from and where apply goes: sandbox (the embedded "
                               "portal, default), snapshot (a state file, read-only) or http.")
    path: str | None = Field(None, min_length=1,
                             description="sandbox: the SQLite file (default .reconciler/sandbox.db); "
                                         "snapshot: the state file. Relative to the repo root.",
                             examples=[".reconciler/sandbox.db"])


class Policy(Strict):
    deletions: Literal["guarded", "allow", "deny"] = Field(
        "guarded", description="guarded: only a PBX marked allow_deletion may go to zero licenses; "
                               "allow: any PBX, a removed one too; deny: none at all.")
    prune: bool = Field(False, description="true: customers absent from the repo are decommissioned too.")


class PortalConfig(Strict):
    timezone: str | None = Field(None, min_length=1,
                                 description="IANA timezone of the portal's own clock, for the rules it enforces "
                                             "itself (no decrease on the last day of the month); default: the "
                                             "repo's timezone.", examples=["Europe/Rome"])


class Config(Strict):
    """reconciler.yaml: where state comes from, the calendar's timezone, the price book, the policy."""

    model_config = Strict.model_config | {"title": "reconciler repo configuration"}

    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    timezone: str = Field("UTC", min_length=1,
                          description="IANA timezone in which calendar rules (the last day of the month) are judged.",
                          examples=["Europe/Rome"])
    price_book: str | None = Field(None, min_length=1,
                                   description="The partner's exported price book (CSV), relative to the repo root; "
                                               "enables cost lines. Columns product,category,term,price,currency, "
                                               "one row per product and term (1m, 1y, 5y, lifetime; once for "
                                               "WPBX-HW); licenses by their portal codes (PBX-BASIC, UC-ESSENTIAL, "
                                               "...); lines starting with # are comments. Its HWaaS products are "
                                               "the product catalog.", examples=["pricebook.csv"])
    policy: Policy = Field(default_factory=Policy)
    portal: PortalConfig = Field(default_factory=PortalConfig)

    @property
    def portal_timezone(self) -> str:
        return self.portal.timezone or self.timezone
