"""The plan as a value: Action, Status, Step and the versioned Plan document (FORMAT.md section 6).

Every renderer and `apply` read this one model (dumped with `model_dump(mode="json")`);
none of them re-sorts or re-derives anything. A Step is frozen: the planner replaces
steps (`model_copy(update=...)`) while rules decide their status, it never mutates one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler, PlainSerializer,
                      SerializeAsAny, TypeAdapter, ValidationError, WithJsonSchema, create_model)

from reconciler.diagnostics import Diagnostic
from reconciler.domain import Term, absent_when_none, no_items
from reconciler.plan.changes import FORMS, Changes

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


# An amount of money: a decimal string with at least two decimals ("136.44", "-15.00", "0.00"), never a
# JSON number (a float would lose cents). Amounts are rounded half-even to the cent once per cost item;
# step amounts and totals are sums of rounded items. Unit prices keep the price book's precision.
Money = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
                  WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2,}$",
                                  "description": "An amount of money as a decimal string, never a JSON number, "
                                                 "such as \"136.44\": rounded half-even to the cent once per "
                                                 "cost item, sums add rounded items; a unit price keeps the "
                                                 "price book's precision."},
                                 mode="serialization")]
BillingTerm = Literal["1m", "1y", "5y", "lifetime", "once"]


class Period(BaseModel):
    """The part of a term a step's charge covers (seed 000: added mid-term, prorated to the PBX's expiry)."""

    model_config = ConfigDict(frozen=True)

    start: dt.date | None = Field(description="D: the date the step runs (today, or its not_before when blocked); "
                                              "null while it is blocked with no date.")
    end: dt.date | None = Field(description="The PBX's renewal date (expires_on) the charge runs to; "
                                            "null for lifetime.")
    days: int | None = Field(description="Days from start to end: the days charged now.")
    term_days: int | None = Field(description="Days of the whole term that ends on `end` (365, 366 with a "
                                              "29 February, 28 to 31 for a month); charged now = price x days / "
                                              "term_days.")


class CostItem(BaseModel):
    """One product on one step, like an invoice line."""

    model_config = ConfigDict(frozen=True)

    product: str = Field(description="The portal's code (PBX-BASIC, UC-ESSENTIAL, WPBX-HW, ...) or the device.")
    term: BillingTerm = Field(description="The term the price is for: the PBX's, or once for a purchase.")
    quantity: int = Field(description="Units added (positive) or removed (negative).")
    unit_price: Money | None = Field(description="The price book's price of one unit for one term; "
                                                 "null: not in the price book.")
    one_off: Money | None = Field(description="Charged now: unit_price x quantity x days / term_days, "
                                              "rounded to the cent; 0.00 for a removal (no refund).")
    recurring: Money | None = Field(description="The change to the renewal invoice: unit_price x quantity; "
                                                "null for lifetime and once (no renewals) or with no price.")
    billed_to: str | None = absent_when_none(description="customer/pbx whose invoice the item changes when it is "
                                                         "not the step's own: a transfer's sender, whose renewal "
                                                         "goes down by what the receiver's goes up. Absent "
                                                         "otherwise.")


class Cost(BaseModel):
    """What a step costs the customer, from the price book (present only when one is configured)."""

    model_config = ConfigDict(frozen=True)

    currency: str = Field(description="The price book's currency (ISO 4217), such as EUR.")
    one_off: Money | None = Field(description="Charged now: the sum of the items' one_off. Null when it cannot be "
                                              "priced yet (see notes: no-date, no-price, not-priced).")
    recurring: dict[str, Money] | None = Field(
        description="The change to the PBX's invoice at each renewal, by term (\"1y\": \"120.00\"); empty for "
                    "lifetime or one-off charges; null when a price is missing.")
    period: Period | None = Field(description="The period the charge now covers; null for one-off purchases "
                                              "and steps that are not priced.")
    items: list[CostItem] = Field(default_factory=no_items, description="The figures, product by product.")
    notes: list[str] = Field(default_factory=no_items,
                             description="no-refund (a decrease returns nothing for the prepaid period), free "
                                         "(PBX-SERVICE costs nothing), no-date (blocked with no date: the charge "
                                         "now is not known yet), no-expiry (the PBX's expires_on is not known), "
                                         "no-price (a product and term missing from the price book), not-priced "
                                         "(the price book does not price this action), credit-note (the credit "
                                         "note of a conversion or transfer is not included), "
                                         "hwaas-follows-pbx-term (a term change bills the HWaaS devices anew).")


class Step(BaseModel):
    """One change, in plan order: what every step has, whatever its action (its class is `step_type(action)`).

    `changes` is the model of the step's action (reconciler.plan.changes: one per action, pairs
    `[before, after]`, serials sorted). `id` and `depends_on` are plan positions (1-based) once the
    planner has numbered the steps; do not use them as stable identities across plans.
    """

    model_config = ConfigDict(frozen=True, use_enum_values=False)

    id: int = Field(description="1-based position in the plan.")
    customer: str
    pbx: str | None = Field(None, description="The PBX name; null for customer-level steps.")
    action: Action
    changes: Changes
    status: Status = Status.READY
    not_before: dt.date | None = Field(None, description="Blocked: the first date the step is allowed, "
                                                         "or null while a condition holds.")
    rules: list[str] = Field(default_factory=no_items, description="Ids of the rules that shaped the step (RULES.md).")
    depends_on: list[int] = Field(default_factory=no_items, description="Ids of earlier steps this one needs.")
    instruction: str | None = Field(None, description="Manual: what to ask for. Blocked: why it waits.")
    cost: Cost | None = Field(None, description="What the step costs, when a price book is configured; else null.")

    @property
    def address(self) -> str:
        return f"{self.customer}/{self.pbx}" if self.pbx else self.customer


def _class_name(action: Action) -> str:
    """`add-licenses` -> `AddLicensesStep`: the name the published schema gives the action's step."""
    return "".join(word.capitalize() for word in action.value.split("-")) + "Step"


@cache
def step_type(action: Action) -> type[Step]:
    """The step class of `action`: Step with `action` fixed and `changes` the action's model.

    Defined on first use, so a plan builds the classes (and pydantic the validators) of the
    actions it has, not all eleven: most of a one-customer plan's start-up is defining models.
    """
    return create_model(_class_name(action), __base__=Step, __module__=__name__,
                        action=(Literal[action], ...), changes=(FORMS[action.value], ...))


def step_union() -> Any:
    """A plan step as a field type that parses a document: its class, and so the model of its
    `changes`, is the one of its `action` (the discriminated union of every action's step)."""
    return Annotated[Union[tuple(step_type(action) for action in Action)],  # noqa: UP007
                     Field(discriminator="action")]


def new_step(action: Action, **fields) -> Step:
    """The step of `action` (its `changes` a model or the dict of one): how the planner and tests make one."""
    return step_type(action)(action=action, **fields)


@cache
def _step_adapter() -> TypeAdapter:
    return TypeAdapter(step_union())


def parse_step(data: dict) -> Step:
    """A step from its JSON document (a saved plan, the portal's API); ValidationError names the field.

    The step class of the document's action when it names one, so that reading a plan defines the
    classes of its own actions only; anything else (and a step that does not validate) goes through
    the union of every action's step, whose errors are the ones a reader sees."""
    try:
        kind = step_type(Action(data["action"]))
    except (TypeError, KeyError, ValueError):
        return _step_adapter().validate_python(data)
    try:
        return kind.model_validate(data)
    except ValidationError:
        return _step_adapter().validate_python(data)


def _parsed(item: Any) -> Any:
    """A step of Plan.steps as given: the planner's as it is, a document's parsed into its action's step."""
    return parse_step(item) if isinstance(item, dict) else item


class _UnionSchema:
    """The JSON schema of Plan.steps: the discriminated union of every action's step, as a reader parses it."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return handler(TypeAdapter(list[step_union()]).core_schema)


# The plan's steps: each one its action's step class, serialized as that class (not as Step's fields).
Steps = Annotated[list[Annotated[SerializeAsAny[Step], BeforeValidator(_parsed)]], _UnionSchema()]


class StatusCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    ready: int = 0
    blocked: int = 0
    manual: int = 0


class ManualCosts(BaseModel):
    """What the manual steps cost once a person carries them out: apart from what applies now."""

    model_config = ConfigDict(frozen=True)

    steps: list[int] = Field(description="Ids of the manual steps (a Customer Care ticket, say).")
    one_off: Money | None = Field(description="Charged when they are done; null when not known.")
    recurring: dict[str, Money] | None = Field(description="Their change to the invoices at each renewal, by "
                                                           "term; null when a price is missing.")


class CostTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    one_off: Money = Field(description="Charged now: the sum of the steps' one_off (steps not priced, and "
                                              "manual steps, left out: see `manual`).")
    recurring: dict[str, Money] = Field(default_factory=dict,
                                        description="The change to the invoices at each renewal, by term.")
    unpriced_steps: list[int] = Field(default_factory=no_items,
                                      description="Ids of the steps whose cost is not known, or not fully: what "
                                                  "is not known of them is left out of the totals.")
    manual: ManualCosts | None = absent_when_none(description="The manual steps' costs, left out of the totals "
                                                              "beside it (absent when no manual step is priced).")


class Renewal(BaseModel):
    """A PBX the plan touches: when it renews (and invoices) after the plan."""

    model_config = ConfigDict(frozen=True)

    term: Term = Field(description="The PBX's term after the plan.")
    renews_on: dt.date | None = Field(description="Its renewal and invoice date after the plan (expires_on); "
                                                  "null for lifetime, or while not known.")
    renewal_window: bool = Field(False, description="A step on it falls within the 2 days before its renewal "
                                                    "(the renewal-window warning).")


class CustomerCosts(CostTotals):
    renewals: dict[str, Renewal] = Field(default_factory=dict, description="PBX name -> its renewal.")


class CostSummary(CostTotals):
    """The plan's costs: totals for the whole plan and per customer, in the price book's currency."""

    currency: str = Field(description="The price book's currency (ISO 4217): every amount of the plan is in it.")
    by_customer: dict[str, CustomerCosts] = Field(default_factory=dict, description="Customer id -> its totals.")


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
    costs: CostSummary | None = absent_when_none(
        description="Cost totals and renewal dates; present only when a price book is configured (absent, not "
                    "null, otherwise).")


class Plan(BaseModel):
    """The versioned plan document; `model_dump(mode="json")` with sorted keys is the JSON plan."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal["1"] = FORMAT_VERSION
    tool_version: str
    today: dt.date
    timezone: str = "UTC"
    summary: Summary = Field(default_factory=Summary)
    diagnostics: list[Diagnostic] = Field(default_factory=no_items)
    steps: Steps = Field(default_factory=no_items)
    fingerprints: dict[str, str] = Field(default_factory=dict,
                                         description="What apply checks for a stale plan: `desired` (the desired "
                                                     "files) and `current` (the portal state), given to the planner.")
    drift: list[dict[str, Any]] | None = absent_when_none(
        description="With --drift: what changed in the portal since the last apply (absent, not null, otherwise).")

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def run_date(step: Step, today: dt.date) -> dt.date | None:
    """D (RULES.md), the date a step runs: today, its not_before when blocked, None while blocked with no date."""
    return step.not_before if step.status is Status.BLOCKED else today


def summarize(steps: list[Step], diagnostics: list[Diagnostic], costs: CostSummary | None = None) -> Summary:
    """The summary, counted once, from the finished steps and diagnostics: renderers read it, never recount."""
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
        costs=costs,
    )
