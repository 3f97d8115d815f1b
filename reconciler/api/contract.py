"""The portal API's contract, version 1: every request and answer as a pydantic model.

The server validates against these models, the client parses with them, and the
published OpenAPI 3.1 document (schemas/portal-api.json) is generated from them, so
the three cannot drift apart. Endpoints, all under `/v1`:

- `GET  /v1/health`                       is the portal up (no token needed);
- `GET  /v1/state?date=&cursor=&limit=`   the state on a date, one page of customers at a time;
                                          every page carries the state's `version` (also the
                                          ETag), the fingerprint a saved plan records;
- `POST /v1/steps`                        carry out one step, `Idempotency-Key` header required;
- `POST /v1/leases`                       take a lease over a set of customers (all or nothing);
- `PUT  /v1/leases/{id}`                  renew it; `DELETE /v1/leases/{id}` releases it.

Failures are problem documents (RFC 9457, `application/problem+json`), with the rule id
when the portal refused a step.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from reconciler.domain import Id, Product
from reconciler.plan.model import step_union
from reconciler.snapshot import CurrentCustomer, Partner

API_VERSION = "v1"
PREFIX = f"/{API_VERSION}"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PROBLEM_TYPE = "application/problem+json"
PAGE_DEFAULT, PAGE_MAX = 1000, 5000
StepDocument = step_union()  # a step as the API carries it: the union of every action's step, by `action`


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Health(Model):
    status: str = Field("ok", description="ok when the portal answers.")
    api: str = Field(API_VERSION, description="The contract's version.")
    portal: str = Field(description="What serves the contract, e.g. sandbox.")


class StatePage(Model):
    """One page of the portal's state on `as_of`: everything but customers, and a slice of them."""

    as_of: dt.date
    version: str = Field(description="The state's version (its fingerprint, also the ETag). Pass it back as "
                                     "`version` when reading the next page: a state that moved is 412.")
    partner: Partner
    stock: dict[Product, int]
    catalog: dict[str, list[Product]] | None
    customers: dict[Id, CurrentCustomer] = Field(description="Customers in id order, after `cursor`.")
    total: int = Field(description="Customers in the whole state.")
    next_cursor: str | None = Field(description="The cursor of the next page; null on the last one.")


class StepRequest(Model):
    """One step of a plan, carried out on `today` (the portal's clock moves there first)."""

    today: dt.date
    step: StepDocument


class StepResult(Model):
    key: str = Field(description="The Idempotency-Key this result answers.")
    replayed: bool = Field(description="True when the key was carried out before: nothing was done again.")


class LeaseRequest(Model):
    owner: str = Field(min_length=1, max_length=200, description="Who runs: user@host, a CI job.")
    operation: str = Field(min_length=1, max_length=200, description="What runs, e.g. apply.")
    customers: list[Id] = Field(min_length=1, description="Every customer the run touches: a plan's customers "
                                                          "and the other sides of their transfers.")
    ttl_seconds: float = Field(60.0, gt=0, le=3600, description="The lease expires unless renewed within this.")


class Lease(Model):
    id: str
    owner: str
    operation: str
    customers: list[Id]
    created: dt.datetime
    expires: dt.datetime


class LeaseGranted(Model):
    lease: Lease
    expired: list[Lease] = Field(default_factory=list,
                                 description="Earlier leases over these customers that expired without being "
                                             "released: a run that may have stopped mid-apply.")


class LeaseRenewal(Model):
    ttl_seconds: float = Field(60.0, gt=0, le=3600)


class Problem(Model):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    rule: str | None = Field(None, description="The rule id (RULES.md) when the portal refused a step.")
    customer: str | None = None
    pbx: str | None = None
    lease: Lease | None = Field(None, description="409 on a lease: the live lease in the way.")


def problem_type(name: str) -> str:
    return f"urn:reconciler:problem:{name}"
