"""Repo configuration: reconciler.yaml (FORMAT.md section 3), every setting optional."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

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
    url: str | None = Field(None, pattern=r"^https?://[^\s/]+", description="http: the portal API's base URL "
                            "(its /v1 is added when missing).", examples=["https://portal.example/v1"])
    token_env: str = Field("RECONCILER_PORTAL_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                           description="http: the environment variable holding the bearer token (the token "
                                       "itself is never written in a file).")
    ca_file: str | None = Field(None, min_length=1, description="http: a PEM file of CA certificates to trust "
                                                               "besides the system's, relative to the repo root.")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="http: how long to wait for an answer.")
    retry_seconds: float = Field(30.0, ge=0, le=600, description="http: how long to keep retrying a request the "
                                                                "network or a busy portal failed (0: never).")
    lease_seconds: float = Field(60.0, gt=0, le=3600, description="http: how long the portal's lease on a run's "
                                                                 "customers lasts unless renewed (renewed "
                                                                 "every third of it while the run lives).")

    @model_validator(mode="before")
    @classmethod
    def _no_token(cls, data):
        if isinstance(data, dict) and any(key in data for key in ("token", "password", "secret")):
            raise ValueError("a token is never written in reconciler.yaml: put it in the environment variable "
                             "named by token_env (default RECONCILER_PORTAL_TOKEN)")
        return data


class Policy(Strict):
    deletions: Literal["guarded", "allow", "deny"] = Field(
        "guarded", description="guarded: only a PBX marked allow_deletion may go to zero licenses; "
                               "allow: any PBX, a removed one too; deny: none at all.")
    prune: bool = Field(False, description="true: customers absent from the repo are decommissioned too.")


class Config(Strict):
    """reconciler.yaml: where state comes from, the calendar's timezone, the price book, the policy."""

    model_config = Strict.model_config | {"title": "reconciler repo configuration"}

    provider: ProviderConfig = Field(default_factory=ProviderConfig,
                                     description="Where current state comes from and where apply goes.")
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
    policy: Policy = Field(default_factory=Policy, description="What a plan may delete: PBXs and customers.")
