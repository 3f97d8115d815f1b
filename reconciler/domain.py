"""The portal's vocabulary, shared by desired state, current state and the planner.

Field descriptions here become the JSON Schemas' descriptions, which editors show
beside every key: write them for a partner, not for a programmer.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Annotated, Literal


def _without_plugin_scan() -> None:
    """Spare start-up pydantic's plugin lookup when no installed distribution declares a pydantic plugin.

    pydantic looks for plugins through importlib.metadata, whose import alone takes about
    15 ms, a tenth of a one-customer plan. The `pydantic` entry points group can be checked
    by reading the few entry_points.txt files directly; with any plugin declared (or the
    lookup already done) pydantic is left to do it as usual.
    """
    name = "pydantic.plugin._loader"
    if name in sys.modules:
        return
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if entry.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder or ".", entry, "entry_points.txt"), encoding="utf-8") as file:
                        if "[pydantic]" in file.read():
                            return
                except (OSError, UnicodeDecodeError):
                    continue
    loader = types.ModuleType(name, "pydantic's plugin loader, when no plugin is installed")
    loader.get_plugins = lambda: ()

    def real(attribute: str):
        """Anything else a pydantic release asks of its loader: load the real one (PEP 562)."""
        import importlib

        if attribute.startswith("__"):  # the import system asking (__path__, __spec__...): not pydantic
            raise AttributeError(attribute)
        sys.modules.pop(name, None)
        return getattr(importlib.import_module(name), attribute)

    loader.__getattr__ = real
    sys.modules[name] = loader


_without_plugin_scan()

from pydantic import BaseModel, ConfigDict, Field, StringConstraints  # noqa: E402

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


class Strict(BaseModel):
    """Base of every model read from a file: unknown keys are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Licenses(Strict):
    """Per-user licenses by profile; a missing profile means 0."""

    basic: Count = Field(0, description="PBX-BASIC users: unattended phones, fax machines, door phones.")
    essential: Count = Field(0, description="UC-ESSENTIAL users: Collaboration, mobile apps, presence and chat.")
    business: Count = Field(0, description="UC-BUSINESS users: Wizyconf rooms, Kite, WebAPI and TAPI.")
    premium: Count = Field(0, description="UC-PREMIUM users: CDR-View, contact center, WBI services.")
    wizyconf: Count = Field(0, description="UC-WIZYCONF: one per Wizyconf web conference user.")
    service: Count = Field(0, description="PBX-SERVICE (free of charge): park orbits, virtual users.")

    def counts(self) -> dict[str, int]:
        return {profile: getattr(self, profile) for profile in PROFILES}

    def total(self) -> int:
        return sum(self.counts().values())
