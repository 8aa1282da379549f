"""Admin API (IAM-authorized): customers, API keys and the audit log. Glue over facepolicy.RegistryAdmin."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
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

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver(enable_validation=True)


class Deps:
    """Built once per container on first use; tests assign `deps.admin`."""

    admin: RegistryAdmin | None = None

    def get(self) -> RegistryAdmin:
        if self.admin is None:
            self.admin = admin_from_env()
        return self.admin


deps = Deps()


def _who() -> dict[str, str]:
    event = app.current_event.raw_event
    return {"principal": admin_principal(event) or "unknown", "request_id": request_id_of(event)}


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/admin/customers")
def create_customer(body: CreateCustomerRequest) -> Response[dict[str, Any]]:
    customer, issued = deps.get().create_customer(**body.model_dump(), **_who())
    api_key = {**key_view(issued.key), "secret": issued.secret}  # shown once, never stored
    return _json(201, {"customer": customer_view(customer), "api_key": api_key})


@app.get("/admin/customers")
def list_customers(limit: Annotated[int, Query(ge=1, le=100)] = 50, cursor: Annotated[str, Query()] = "") -> dict:
    page = deps.get().list_customers(limit=limit, cursor=cursor)
    return {"customers": [customer_view(c) for c in page.items], "next_cursor": page.next_cursor or None}


@app.get("/admin/customers/<customer_id>")
def get_customer(customer_id: str) -> dict:
    admin = deps.get()
    return {"customer": customer_view(admin.get_customer(customer_id)),
            "keys": [key_view(k) for k in admin.list_keys(customer_id)]}


@app.patch("/admin/customers/<customer_id>")
def update_customer(customer_id: str, body: UpdateCustomerRequest) -> dict:
    customer = deps.get().update_customer(customer_id, body.changes(), body.version, **_who())
    return {"customer": customer_view(customer)}


@app.post("/admin/customers/<customer_id>/keys")
def create_key(customer_id: str) -> Response[dict[str, Any]]:
    issued = deps.get().create_key(customer_id, **_who())
    return _json(201, {"api_key": {**key_view(issued.key), "secret": issued.secret}})


@app.delete("/admin/customers/<customer_id>/keys/<key_id>")
def revoke_key(customer_id: str, key_id: str) -> dict:
    return {"api_key": key_view(deps.get().revoke_key(customer_id, key_id, **_who()))}


@app.get("/admin/audit")
def list_audit(customer_id: Annotated[str, Query()] = "", since: Annotated[str, Query()] = "",
               until: Annotated[str, Query()] = "", limit: Annotated[int, Query(ge=1, le=500)] = 50,
               cursor: Annotated[str, Query()] = "") -> dict:
    page = deps.get().list_audit(customer_id=customer_id, since=since, until=until, limit=limit, cursor=cursor)
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
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
