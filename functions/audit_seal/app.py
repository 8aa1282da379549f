"""Audit sealing on a schedule (EventBridge) and the admin audit routes (IAM-authorized): seal, verify, report.

Glue over facepolicy.seal (AuditSealer, AuditVerifier) and facepolicy.report; every admin route is
itself audited (operation `manage`, the caller's IAM principal). Wiring: `compose()` is the composition
root; routes take the services as a Powertools dependency, which tests replace with
`app.dependency_overrides[get_services]` (the schedule path honours the same override).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from facepolicy.audit import iso_time
from facepolicy.audit_actions import record_admin_action
from facepolicy.audit_env import AuditServices, audit_services_from_env
from facepolicy.errors import AuditUnavailable
from facepolicy.http_event import admin_principal, request_id_of
from facepolicy.report import build_report
from facepolicy.seal import DigestConflict, DigestUnavailable, parse_anchor, resolve_since

logger = Logger()  # no Tracer: hourly seals and rare admin calls do not earn the X-Ray SDK's cold-start cost
app = APIGatewayHttpResolver(enable_validation=True)
SOURCE = "audit_seal"


def compose(environ: Mapping[str, str] | None = None) -> AuditServices:
    """The composition root: audit table, digest bucket, sealer and verifier (facepolicy.audit_env)."""
    return audit_services_from_env(environ)


@functools.cache
def get_services() -> AuditServices:
    """This container's services (a Powertools dependency): composed on first use, then shared."""
    return compose()


Services = Annotated[AuditServices, Depends(get_services)]


def _audited(services: AuditServices, action: str, details: dict[str, str]) -> None:
    event = app.current_event.raw_event
    record_admin_action(services.audit, services.policy, action, principal=admin_principal(event) or "unknown",
                        request_id=request_id_of(event), source=SOURCE, details=details, clock=services.clock)


def _error(status: int, code: str, message: str) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body={"code": code, "message": message})


@app.post("/admin/audit/seal")
def seal(services: Services) -> dict[str, Any]:
    result = services.sealer.seal()
    _audited(services, "audit_seal", {"digests": str(len(result.sealed)), "sealed_through": result.sealed_through})
    return result.as_dict()


@app.get("/admin/audit/verify")
def verify(services: Services, since: Annotated[str, Query(max_length=64)] = "",
           anchor: Annotated[str, Query(max_length=1200)] = "") -> dict[str, Any]:
    start = resolve_since(since, services.clock()) if since else ""
    report = services.verifier.verify(start, anchor=parse_anchor(anchor)).as_dict()
    _audited(services, "audit_verify", {"since": start, "ok": str(report["ok"]).lower(),
                              "findings": str(len(report["findings"]))})
    return report


@app.get("/admin/report")
def report(services: Services, since: Annotated[str, Query(max_length=64)] = "30d",
           until: Annotated[str, Query(max_length=64)] = "") -> dict[str, Any]:
    now = services.clock()
    start = resolve_since(since, now)
    end = resolve_since(until, now) if until else iso_time(now + 0.001)
    if end <= start:
        raise ValueError("until must be after since")
    document = build_report(services.audit.records_between(start, end), since=start, until=end,
                            generated_at=iso_time(now))
    _audited(services, "transparency_report", {"since": start, "until": end})
    return document


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
    return _error(400, "BAD_REQUEST", details or "invalid request")


@app.exception_handler(ValueError)
def _bad_value(exc: ValueError) -> Response[dict[str, Any]]:
    return _error(400, "BAD_REQUEST", str(exc))


@app.exception_handler(DigestConflict)
def _conflict(exc: DigestConflict) -> Response[dict[str, Any]]:
    return _error(409, "SEAL_IN_PROGRESS", f"{exc}; another seal is running, retry")


@app.exception_handler([AuditUnavailable, DigestUnavailable])
def _unavailable(exc: Exception) -> Response[dict[str, Any]]:
    logger.error("audit admin request failed: backend unavailable", error=str(exc))
    return _error(503, "SERVICE_UNAVAILABLE", "the audit table or the digest bucket is unavailable; retry later")


def _scheduled(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _scheduled(event):  # the EventBridge schedule: seal every closed period (errors raise: Lambda retries)
        result = app.dependency_overrides.get(get_services, get_services)().sealer.seal()  # one override, both paths
        logger.info("scheduled seal", digests=len(result.sealed), sealed_through=result.sealed_through,
                    complete=result.complete)
        return result.as_dict()
    return app.resolve(event, context)
