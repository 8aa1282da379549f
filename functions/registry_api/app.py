"""Admin API (IAM-authorized): customers, API keys and the audit log. Glue over facepolicy.RegistryAdmin.

Its seven routes are API Gateway's (template.yaml): each event's routeKey names its route, so the function
dispatches on it (`admin_routes.Router`) and never loads Powertools' event handler, nor pydantic until a
call has a body (the request models, facepolicy.admin_requests). Answers and errors as before:
{"code", "message"} with facepolicy.admin_api's statuses; hostile or oversized JSON is a 400/413 with a
reason code (admin_routes). Wiring: `compose()` is the composition root; the routes take the admin from
`get_admin()`, which tests replace (`module.get_admin = ...`).
"""

from __future__ import annotations

from facepolicy import runtime

runtime.pause_gc()  # Lambda: no garbage collection during init (facepolicy.runtime); the imports follow

import functools
import os
from collections.abc import Mapping
from typing import Any

from admin_routes import Answer, Request, Router
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from facepolicy.admin import RegistryAdmin, audit_view, customer_view, key_view
from facepolicy.admin_api import error_body, registry_error_status, unavailable_body
from facepolicy.errors import AuditUnavailable, RegistryError, RegistryUnavailable
from facepolicy.http_event import admin_principal, request_id_of
from facepolicy.quota import QuotaDefaults, Quotas

logger = Logger()  # no Tracer: rare admin calls, each often a cold start, do not earn the X-Ray SDK's cost
router = Router()


def compose(environ: Mapping[str, str] | None = None) -> RegistryAdmin:
    """The composition root: the registry admin over REGISTRY_TABLE and AUDIT_TABLE (facepolicy.env)."""
    from facepolicy.env import admin_from_env

    return admin_from_env(environ)


@functools.cache
def get_admin() -> RegistryAdmin:
    """This container's admin: composed on first use, then shared."""
    with runtime.init_phase():
        return compose()


def _customer(customer: Any) -> dict[str, Any]:
    """The customer as shown, with `quota_limits`: its overrides over the deployment's defaults."""
    limits = Quotas.effective(QuotaDefaults.from_env(os.environ), customer.quotas).view()
    return {**customer_view(customer), "quota_limits": limits}


def _who(request: Request) -> dict[str, str]:
    return {"principal": admin_principal(request.event) or "unknown", "request_id": request_id_of(request.event)}


@router.route("POST /admin/customers")
def create_customer(request: Request) -> Answer:
    from facepolicy.admin_requests import CreateCustomerRequest

    body = request.body_as(CreateCustomerRequest)
    customer, issued = get_admin().create_customer(**body.model_dump(), **_who(request))
    api_key = {**key_view(issued.key), "secret": issued.secret}  # shown once, never stored
    return 201, {"customer": customer_view(customer), "api_key": api_key}


@router.route("GET /admin/customers")
def list_customers(request: Request) -> Answer:
    page = get_admin().list_customers(limit=request.query_int("limit", 50, ge=1, le=100),
                                      cursor=request.query("cursor"))
    return 200, {"customers": [customer_view(c) for c in page.items], "next_cursor": page.next_cursor or None}


@router.route("GET /admin/customers/{customer_id}")
def get_customer(request: Request) -> Answer:
    admin, customer_id = get_admin(), request.path("customer_id")
    return 200, {"customer": _customer(admin.get_customer(customer_id)),
                 "keys": [key_view(k) for k in admin.list_keys(customer_id)]}


@router.route("PATCH /admin/customers/{customer_id}")
def update_customer(request: Request) -> Answer:
    from facepolicy.admin_requests import UpdateCustomerRequest

    body = request.body_as(UpdateCustomerRequest)
    customer = get_admin().update_customer(request.path("customer_id"), body.changes(), body.version,
                                           **_who(request))
    return 200, {"customer": _customer(customer)}


@router.route("POST /admin/customers/{customer_id}/keys")
def create_key(request: Request) -> Answer:
    issued = get_admin().create_key(request.path("customer_id"), **_who(request))
    return 201, {"api_key": {**key_view(issued.key), "secret": issued.secret}}


@router.route("DELETE /admin/customers/{customer_id}/keys/{key_id}")
def revoke_key(request: Request) -> Answer:
    revoked = get_admin().revoke_key(request.path("customer_id"), request.path("key_id"), **_who(request))
    return 200, {"api_key": key_view(revoked)}


@router.route("GET /admin/audit")
def list_audit(request: Request) -> Answer:
    page = get_admin().list_audit(customer_id=request.query("customer_id"), since=request.query("since"),
                                  until=request.query("until"), limit=request.query_int("limit", 50, ge=1, le=500),
                                  cursor=request.query("cursor"))
    return 200, {"records": [audit_view(r) for r in page.items], "next_cursor": page.next_cursor or None}


def _error(exc: Exception) -> Answer | None:
    """The one table of answers to the admin's exceptions (anything else fails the invocation)."""
    if isinstance(exc, RegistryUnavailable | AuditUnavailable):
        logger.error("admin request failed: backend unavailable", error=str(exc))
        return 503, unavailable_body(exc)
    if isinstance(exc, RegistryError):
        return registry_error_status(exc), error_body(exc.code, str(exc))
    if isinstance(exc, ValueError):
        return 400, error_body("BAD_REQUEST", str(exc))
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return router.resolve(event, _error)


runtime.end_init()  # Lambda: what init built is frozen out of later collections, which resume
