"""Policy enforcement for Powertools' API Gateway resolvers: each route declares its operation once.

    gate = lambda: deps.gate            # or a PolicyGate; resolved on each request (lazy per container)
    @app.post("/collections/<collection_id>/search", middlewares=[requires("search", gate)])
    def search(collection_id: str) -> dict:
        customer_id = current_customer_id(app)   # from the authorizer context, never from the body

A deny is answered here with 403 {"code", "message", "rule_id", "policy_version", "policy_sha256"} and the
route never runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from facepolicy.errors import MissingPolicyCheck, PolicyDenied
from facepolicy.gate import PolicyGate
from facepolicy.model import OPERATIONS, Decision, ReasonCode

GateProvider = PolicyGate | Callable[[], PolicyGate]
Middleware = Callable[[Any, NextMiddleware], Response]

CUSTOMER_KEY = "customer_id"
DECISION_KEY = "policy_decision"
OPERATION_KEY = "policy_operation"


def authorizer_customer_id(event: Mapping[str, Any]) -> str:
    """requestContext.authorizer.lambda.customer_id of an HTTP API (payload 2.0) event, or ""."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    value = (authorizer.get("lambda") or {}).get(CUSTOMER_KEY, "")
    return value if isinstance(value, str) else ""


def admin_principal(event: Mapping[str, Any]) -> str:
    """The IAM principal of an IAM-authorized route (userArn, else caller id), or ""."""
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    return str(iam.get("userArn") or iam.get("callerId") or iam.get("userId") or "")


def request_id_of(event: Mapping[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("requestId") or "")


def denied_response(decision: Decision) -> Response:
    """403 for a refusal; 503 + Retry-After when the registry could not be read (fail closed, retryable)."""
    body = {"code": decision.reason_code, "message": decision.message, "rule_id": decision.rule_id,
            "policy_version": decision.policy_version, "policy_sha256": decision.policy_sha256}
    if decision.reason_code == ReasonCode.POLICY_UNAVAILABLE:
        return Response(status_code=503, content_type="application/json", body=json.dumps(body),
                        headers={"Retry-After": "1"})
    return Response(status_code=403, content_type="application/json", body=json.dumps(body))


def _resolve(gate: GateProvider) -> PolicyGate:
    return gate if isinstance(gate, PolicyGate) else gate()


def requires(operation: str, gate: GateProvider) -> Middleware:
    """A route middleware that checks the caller for `operation` before the route runs."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")

    def policy_middleware(app: Any, next_middleware: NextMiddleware) -> Response:
        if app.context.get(OPERATION_KEY) == operation and isinstance(app.context.get(DECISION_KEY), Decision):
            return next_middleware(app)  # already checked, before validation (check_policy_before_validation)
        event = app.current_event.raw_event
        customer_id = authorizer_customer_id(event)
        context = event.get("requestContext") or {}
        source = f"http {context.get('routeKey') or app.current_event.path}"
        decision = _resolve(gate).check(customer_id, operation, request_id=request_id_of(event), source=source)
        if not decision.allowed:
            return denied_response(decision)
        app.append_context(**{CUSTOMER_KEY: customer_id, DECISION_KEY: decision, OPERATION_KEY: operation})
        return next_middleware(app)

    policy_middleware.__name__ = f"requires_{operation}"
    policy_middleware.policy_operation = operation  # type: ignore[attr-defined]
    return policy_middleware


def check_policy_before_validation(app: Any) -> None:
    """Make each route's `requires` check run BEFORE Powertools validates the request.

    Powertools puts its request validation first in every route's middleware stack, so without this
    a refused customer sending a malformed body would get a 400 instead of its audited 403. Call once,
    right after building a resolver with `enable_validation=True`; the route's own `requires` then sees
    the decision already made and does not check (or audit) twice.
    """
    validation = getattr(app, "_request_validation_middleware", None)
    if validation is None:
        return

    def policy_then_validation(app: Any, next_middleware: NextMiddleware) -> Response:
        route = app.context.get("_route")
        for middleware in getattr(route, "middlewares", None) or ():
            if getattr(middleware, "policy_operation", None):
                return middleware(app, lambda inner: validation(inner, next_middleware))
        return validation(app, next_middleware)

    app._request_validation_middleware = policy_then_validation


def current_customer_id(app: Any) -> str:
    """The customer the policy check admitted. Raises MissingPolicyCheck on a route without `requires`."""
    customer_id = app.context.get(CUSTOMER_KEY)
    if not customer_id:
        raise MissingPolicyCheck("route has no policy check: add middlewares=[requires(<operation>, gate)]")
    return str(customer_id)


def current_decision(app: Any) -> Decision:
    decision = app.context.get(DECISION_KEY)
    if not isinstance(decision, Decision):
        raise MissingPolicyCheck("route has no policy check: add middlewares=[requires(<operation>, gate)]")
    return decision


def register_policy_handlers(app: Any) -> None:
    """Map PolicyDenied (from gate.enforce inside a route) to the same 403 as `requires`."""

    @app.exception_handler(PolicyDenied)
    def _policy_denied(exc: PolicyDenied) -> Response:
        return denied_response(exc.decision)
