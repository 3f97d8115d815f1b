"""The portal API: the contract a portal speaks over HTTP, and the sandbox served behind it.

The same contract is what the `http` provider (reconciler.providers.http) talks to, so
that one client reaches any portal that speaks it: the sandbox served by
`reconciler sandbox serve`, the vendor's portal, or a partner's adapter in front of it.

- contract: the pydantic models of every request and answer, and the endpoints' paths;
- auth: bearer tokens with a read or a write scope;
- faults: added latency and injected failures, for rehearsals and the fault tests;
- leases: the portal's lock leases over sets of customers, and the idempotency records;
- server: the FastAPI application over a sandbox file, and `serve` on uvicorn;
- openapi: the published OpenAPI 3.1 document (schemas/portal-api.json).
"""
