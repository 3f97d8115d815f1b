"""The plan as a value: Action, Status, Step and the versioned Plan document (FORMAT.md section 6).

Every renderer and `apply` read this one model (dumped with `model_dump(mode="json")`);
none of them re-sorts or re-derives anything. A Step is frozen: the planner replaces
steps (`model_copy(update=...)`) while rules decide their status, it never mutates one.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = "1"


class Action(str, Enum):
    """What a step does in the portal, one portal operation each."""

    CREATE_CUSTOMER = "create-customer"
    PURCHASE_HARDWARE_PBX = "purchase-hardware-pbx"
    CREATE_PBX = "create-pbx"
    ADD_LICENSES = "add-licenses"
    REMOVE_LICENSES = "remove-licenses"
    CHANGE_TERM = "change-term"
    SET_OPTIONS = "set-options"
    ORDER_HWAAS = "order-hwaas"
    CONVERT_TO_HWAAS = "convert-to-hwaas"
    TRANSFER_HWAAS = "transfer-hwaas"
    RETURN_HWAAS = "return-hwaas"


LICENSE_ACTIONS = (Action.ADD_LICENSES, Action.REMOVE_LICENSES, Action.CHANGE_TERM)
DEVICE_ACTIONS = (Action.CONVERT_TO_HWAAS, Action.TRANSFER_HWAAS, Action.ORDER_HWAAS, Action.RETURN_HWAAS)


class Status(str, Enum):
    READY = "ready"      # apply may do it now
    BLOCKED = "blocked"  # a rule forbids it today; not_before says from when (null: while a condition holds)
    MANUAL = "manual"    # a person must do it; instruction says what to ask for


class Step(BaseModel):
    """One change, in plan order.

    `changes` per action (pairs are `[before, after]`):

    - create-customer: `{"company": str, "contacts": [{"name", "email"}]}` (the portal's form).
    - purchase-hardware-pbx: `{"product": "WPBX-HW", "quantity": 1}`.
    - create-pbx: the "add PBX" form: `{"name", "model", "term", "licenses": {profile: count, all six},
      "region"?, "storage_gb"?, "static_ip"?, "ssh"?}` (optional keys only when set). A new PBX
      needs no add-licenses step.
    - add-licenses / remove-licenses: `{"licenses.<profile>": [before, after]}` for each profile
      that moves (up for add, down for remove). In a term change, remove takes every profile to 0
      and add brings the desired counts back from 0.
    - change-term: `{"term": [before, after]}`.
    - set-options: `{"storage_gb" | "static_ip" | "ssh": [before, after]}`; a manual set-options
      may carry `{"model": [..], "region": [..]}` (model or region changes, done by a person).
    - order-hwaas: `{"product", "quantity"}` (no serials yet).
    - convert-to-hwaas: `{"product", "quantity", "serials", "billing": ["capex", "hwaas"]}`.
    - transfer-hwaas: `{"product", "quantity", "serials", "from": "customer/pbx"}` (and
      `"billing": ["capex", "hwaas"]` if the device is CAPEX where it is).
    - return-hwaas: `{"product", "quantity", "serials"}`.

    Serials are sorted. `id` and `depends_on` are plan positions (1-based) once the planner
    has numbered the steps; do not use them as stable identities across plans.
    """

    model_config = ConfigDict(frozen=True, use_enum_values=False)

    id: int = Field(description="1-based position in the plan.")
    customer: str
    pbx: str | None = Field(None, description="The PBX name; null for customer-level steps.")
    action: Action
    changes: dict[str, Any] = Field(default_factory=dict)
    status: Status = Status.READY
    not_before: dt.date | None = Field(None, description="Blocked: the first date the step is allowed, "
                                                         "or null while a condition holds.")
    rules: list[str] = Field(default_factory=list, description="Ids of the rules that shaped the step (RULES.md).")
    depends_on: list[int] = Field(default_factory=list, description="Ids of earlier steps this one needs.")
    instruction: str | None = Field(None, description="Manual: what to ask for. Blocked: why it waits.")
    cost: None = Field(None, description="Cost lines, when a price book is known (not computed yet).")

    @property
    def address(self) -> str:
        return f"{self.customer}/{self.pbx}" if self.pbx else self.customer


class PlanDiagnostic(BaseModel):
    """A diagnostic as the plan document carries it (see reconciler.diagnostics.Diagnostic)."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning", "info"]
    rule: str
    message: str
    customer: str | None = None
    pbx: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None


class StatusCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    ready: int = 0
    blocked: int = 0
    manual: int = 0


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True)

    steps: int = 0
    ready: int = 0
    blocked: int = 0
    manual: int = 0
    errors: int = 0
    warnings: int = 0
    by_customer: dict[str, StatusCounts] = Field(default_factory=dict)
    earliest_not_before: dt.date | None = Field(None, description="The earliest date a blocked step may go.")


class Plan(BaseModel):
    """The versioned plan document; `model_dump(mode="json")` with sorted keys is the JSON plan."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal["1"] = FORMAT_VERSION
    tool_version: str
    today: dt.date
    timezone: str = "UTC"
    summary: Summary = Field(default_factory=Summary)
    diagnostics: list[PlanDiagnostic] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    fingerprints: dict[str, str] = Field(default_factory=dict,
                                         description="Filled by the caller: what apply checks for a stale plan.")

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def summarize(steps: list[Step], diagnostics: list[PlanDiagnostic]) -> Summary:
    by_customer: dict[str, dict[str, int]] = {}
    for step in steps:
        tally = by_customer.setdefault(step.customer, {"ready": 0, "blocked": 0, "manual": 0})
        tally[step.status.value] += 1
    dates = [s.not_before for s in steps if s.status is Status.BLOCKED and s.not_before]
    return Summary(
        steps=len(steps),
        ready=sum(s.status is Status.READY for s in steps),
        blocked=sum(s.status is Status.BLOCKED for s in steps),
        manual=sum(s.status is Status.MANUAL for s in steps),
        errors=sum(d.severity == "error" for d in diagnostics),
        warnings=sum(d.severity == "warning" for d in diagnostics),
        by_customer={name: StatusCounts(**tally) for name, tally in sorted(by_customer.items())},
        earliest_not_before=min(dates) if dates else None,
    )
