"""Admin API (IAM-authorized): erase a customer (offboarding) and list the erasure ledger. Glue over erasure.py.

    POST /admin/customers/{customer_id}/erase   {"confirm": "<customer_id>", "reapply": false}
    GET  /admin/erasures

An erasure does what the function's time allows and answers `done: false` when the caller must call
again (the client loops); each call is audited with what it removed.

Wiring: `compose()` is the composition root; routes take the eraser as a Powertools dependency
(`eraser: Eraser`), which tests replace with `app.dependency_overrides[get_eraser]`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from erasure import CustomerEraser, EraseResult
from erasure_s3 import ErasureUnavailable, S3Ledger, S3ObjectPurger

from facepolicy import runtime
from facepolicy.admin_api import error_body, registry_error_status
from facepolicy.env import CLIENT_CONFIG, admin_from_env, audit_from_env, lean_boto3
from facepolicy.errors import AuditUnavailable, RegistryError, RegistryUnavailable
from facepolicy.http_event import admin_principal, request_id_of
from facestore.env import StoreSettings, face_store
from facestore.errors import StoreUnavailable

logger = Logger()
tracer = runtime.tracer()  # Powertools' Tracer only where tracing is switched on (facepolicy.runtime)
app = APIGatewayHttpResolver(enable_validation=True)


def compose(environ: Mapping[str, str] | None = None) -> CustomerEraser:
    """The composition root: registry admin and audit (facepolicy.env), face store (facestore.env), S3."""
    env = os.environ if environ is None else environ
    lean_boto3()
    settings = StoreSettings.from_env(env)
    s3 = boto3.client("s3", config=CLIENT_CONFIG)
    return CustomerEraser(
        admin_from_env(env), face_store(settings, boto3.client("dynamodb", config=CLIENT_CONFIG)),
        S3ObjectPurger(s3), S3Ledger(s3, settings.index_bucket), audit_from_env(env),
        uploads_bucket=env["UPLOADS_BUCKET"], index_bucket=settings.index_bucket)


@functools.cache
def get_eraser() -> CustomerEraser:
    """This container's eraser (a Powertools dependency): composed on first use, then shared."""
    return compose()


Eraser = Annotated[CustomerEraser, Depends(get_eraser)]


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _view(result: EraseResult) -> dict[str, Any]:
    record = asdict(result.record)
    record.pop("store_cursor", None)
    return {"erasure": record, "removed_now": result.removed_now, "done": result.done}


@app.post("/admin/customers/<customer_id>/erase")
def erase_customer(eraser: Eraser, customer_id: str) -> Response[dict[str, Any]]:
    body = app.current_event.json_body if app.current_event.body else {}
    if not isinstance(body, dict) or body.get("confirm") != customer_id:
        return _json(400, error_body("CONFIRMATION_REQUIRED",
                                     'an erasure cannot be undone: send {"confirm": "<the customer id>"}'))
    event = app.current_event.raw_event
    context = app.lambda_context
    result = eraser.erase(customer_id, principal=admin_principal(event) or "unknown",
                          request_id=request_id_of(event), reapply=bool(body.get("reapply")),
                          time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("erasure pass", customer_id=customer_id, done=result.done, removed=result.removed_now)
    return _json(200, _view(result))


@app.get("/admin/erasures")
def list_erasures(eraser: Eraser) -> dict[str, Any]:
    records = [asdict(r) for r in eraser.list()]
    for record in records:
        record.pop("store_cursor", None)
    return {"erasures": records}


@app.exception_handler(RegistryError)
def _registry_error(exc: RegistryError) -> Response[dict[str, Any]]:
    return _json(registry_error_status(exc), error_body(exc.code, str(exc)))


@app.exception_handler([RegistryUnavailable, AuditUnavailable, StoreUnavailable, ErasureUnavailable])
def _unavailable(exc: Exception) -> Response[dict[str, Any]]:
    logger.error("erasure interrupted: backend unavailable (call again to resume)", error=str(exc))
    return _json(503, error_body("SERVICE_UNAVAILABLE", "a backend is unavailable; call again to resume"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
