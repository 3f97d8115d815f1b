"""Repo configuration: reconciler.yaml (FORMAT.md section 3), every setting optional."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

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


class BackendConfig(Strict):
    kind: Literal["local", "postgres"] = Field(
        "local", description="Where locks, the apply journal and the history live: local (files beside the "
                             "sandbox, default) or postgres (one database shared by every runner).")
    dsn_env: str = Field("RECONCILER_BACKEND_DSN", min_length=1,
                         description="postgres: the environment variable holding the connection string "
                                     "(the string itself is never written in a file, nor printed).")
    lease_seconds: float = Field(60, gt=0, le=86400,
                                 description="postgres: how long a lock lasts unless its apply renews it "
                                             "(it renews every third of this while it runs).")

    @model_validator(mode="before")
    @classmethod
    def _no_dsn_in_file(cls, data):
        if isinstance(data, dict) and any(key in data for key in ("dsn", "url", "password", "connection")):
            raise ValueError("the backend's connection string is never written in reconciler.yaml: put it in "
                             "the environment variable that dsn_env names (default RECONCILER_BACKEND_DSN)")
        return data

    @field_validator("dsn_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):  # never echo it: it may be the DSN itself
            raise ValueError("dsn_env is the name of an environment variable (such as RECONCILER_BACKEND_DSN), "
                             "not the connection string")
        return value


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

    provider: ProviderConfig = Field(default_factory=ProviderConfig,
                                     description="Where current state comes from and where apply goes.")
    backend: BackendConfig = Field(default_factory=BackendConfig,
                                   description="Where apply's locks, its journal and the history of applies live.")
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
    portal: PortalConfig = Field(default_factory=PortalConfig,
                                 description="The portal's own clock, for the rules it enforces itself.")

    @property
    def portal_timezone(self) -> str:
        return self.portal.timezone or self.timezone
