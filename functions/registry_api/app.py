"""Admin API (IAM-authorized): customers, API keys and the audit log. Glue over facepolicy.RegistryAdmin.

Wiring: `compose()` is the composition root; routes take the admin as a Powertools dependency
(`admin: Admin`), which tests replace with `app.dependency_overrides[get_admin]`.
"""

from __future__ import annotations

from facepolicy import runtime

runtime.pause_gc()  # Lambda: no garbage collection during init (facepolicy.runtime); the imports follow

import functools
import os
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from facepolicy.admin import RegistryAdmin, audit_view, customer_view, key_view
from facepolicy.admin_api import (
    CreateCustomerRequest,
    UpdateCustomerRequest,
    error_body,
    registry_error_status,
    unavailable_body,
)
from facepolicy.env import admin_from_env
from facepolicy.errors import AuditUnavailable, RegistryError, RegistryUnavailable
from facepolicy.http import admin_principal, request_id_of
from facepolicy.quota import QuotaDefaults, Quotas

logger = Logger()  # no Tracer: rare admin calls, each often a cold start, do not earn the X-Ray SDK's cost
app = APIGatewayHttpResolver(enable_validation=True)


def compose(environ: Mapping[str, str] | None = None) -> RegistryAdmin:
    """The composition root: the registry admin over REGISTRY_TABLE and AUDIT_TABLE (facepolicy.env)."""
    return admin_from_env(environ)


@functools.cache
def get_admin() -> RegistryAdmin:
    """This container's admin (a Powertools dependency): composed on first use, then shared."""
    with runtime.init_phase():
        return compose()


Admin = Annotated[RegistryAdmin, Depends(get_admin)]


def _customer(customer: Any) -> dict[str, Any]:
    """The customer as shown, with `quota_limits`: its overrides over the deployment's defaults."""
    limits = Quotas.effective(QuotaDefaults.from_env(os.environ), customer.quotas).view()
    return {**customer_view(customer), "quota_limits": limits}


def _who() -> dict[str, str]:
    event = app.current_event.raw_event
    return {"principal": admin_principal(event) or "unknown", "request_id": request_id_of(event)}


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/admin/customers")
def create_customer(admin: Admin, body: CreateCustomerRequest) -> Response[dict[str, Any]]:
    customer, issued = admin.create_customer(**body.model_dump(), **_who())
    api_key = {**key_view(issued.key), "secret": issued.secret}  # shown once, never stored
    return _json(201, {"customer": customer_view(customer), "api_key": api_key})


@app.get("/admin/customers")
def list_customers(admin: Admin, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                   cursor: Annotated[str, Query()] = "") -> dict:
    page = admin.list_customers(limit=limit, cursor=cursor)
    return {"customers": [customer_view(c) for c in page.items], "next_cursor": page.next_cursor or None}


@app.get("/admin/customers/<customer_id>")
def get_customer(admin: Admin, customer_id: str) -> dict:
    return {"customer": _customer(admin.get_customer(customer_id)),
            "keys": [key_view(k) for k in admin.list_keys(customer_id)]}


@app.patch("/admin/customers/<customer_id>")
def update_customer(admin: Admin, customer_id: str, body: UpdateCustomerRequest) -> dict:
    customer = admin.update_customer(customer_id, body.changes(), body.version, **_who())
    return {"customer": _customer(customer)}


@app.post("/admin/customers/<customer_id>/keys")
def create_key(admin: Admin, customer_id: str) -> Response[dict[str, Any]]:
    issued = admin.create_key(customer_id, **_who())
    return _json(201, {"api_key": {**key_view(issued.key), "secret": issued.secret}})


@app.delete("/admin/customers/<customer_id>/keys/<key_id>")
def revoke_key(admin: Admin, customer_id: str, key_id: str) -> dict:
    return {"api_key": key_view(admin.revoke_key(customer_id, key_id, **_who()))}


@app.get("/admin/audit")
def list_audit(admin: Admin, customer_id: Annotated[str, Query()] = "", since: Annotated[str, Query()] = "",
               until: Annotated[str, Query()] = "", limit: Annotated[int, Query(ge=1, le=500)] = 50,
               cursor: Annotated[str, Query()] = "") -> dict:
    page = admin.list_audit(customer_id=customer_id, since=since, until=until, limit=limit, cursor=cursor)
    return {"records": [audit_view(r) for r in page.items], "next_cursor": page.next_cursor or None}


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
    return _json(400, error_body("BAD_REQUEST", details or "invalid request"))


@app.exception_handler(RegistryError)
def _registry_error(exc: RegistryError) -> Response[dict[str, Any]]:
    return _json(registry_error_status(exc), error_body(exc.code, str(exc)))


@app.exception_handler(ValueError)
def _bad_value(exc: ValueError) -> Response[dict[str, Any]]:
    return _json(400, error_body("BAD_REQUEST", str(exc)))


@app.exception_handler([RegistryUnavailable, AuditUnavailable])
def _unavailable(exc: RegistryUnavailable | AuditUnavailable) -> Response[dict[str, Any]]:
    logger.error("admin request failed: backend unavailable", error=str(exc))
    return _json(503, unavailable_body(exc))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


runtime.end_init()  # Lambda: what init built is frozen out of later collections, which resume
