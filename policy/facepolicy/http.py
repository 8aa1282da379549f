"""Policy enforcement for Powertools' API Gateway resolvers: each route declares its operation once.

    app = PolicyHttpResolver()                            # policy first, then request validation
    @router.post("/collections/<collection_id>/search", middlewares=[requires("search", get_gate)])
    def search(collection_id: str) -> dict:
        customer_id = current_customer_id(router)         # from the authorizer context, never from the body

`get_gate` is a PolicyGate or a dependency (a callable resolved with Powertools' `Depends`, so an
`app.dependency_overrides` entry replaces it in tests). A deny is answered here with 403
{"code", "message", "rule_id", "policy_version", "policy_sha256"} and the route never runs.

Order. Powertools puts request validation in front of every route's own middlewares, so a refused
caller sending a malformed body would get a 400 instead of its audited 403. `PolicyHttpResolver`
turns that order round with public means only: a route that declares `requires` is registered with
`enable_validation=False` and the public validation middlewares placed after the policy check
(policy -> request validation -> the route's other middlewares -> response validation -> route).

Per request, Powertools rebuilds a route's dependency tree (`typing.get_type_hints` of the route and of
each dependency, ~0.4 ms for a face_api route) although it caches a middleware's. A function's tree
depends only on its annotations: `PolicyHttpResolver` memoizes it per function (`memoize_dependency_trees`).
Overrides are applied when the tree is solved, per request, as before.
"""

from __future__ import annotations

import inspect
import json
import threading
import weakref
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from facepolicy.errors import MissingPolicyCheck, PolicyDenied
from facepolicy.gate import PendingDecision, PolicyGate
from facepolicy.http_event import CUSTOMER_KEY, authorizer_customer_id, request_id_of
from facepolicy.model import OPERATIONS, Decision, ReasonCode
from facepolicy.quota import Admission, throttled_body

GateProvider = PolicyGate | Callable[..., PolicyGate]
Middleware = Callable[..., Response]

DECISION_KEY = "policy_decision"
AUDIT_KEY = "policy_audit"  # the PendingDecision of a route that audits while parsing


def denied_response(decision: Decision) -> Response:
    """403 for a refusal; 503 + Retry-After when the registry could not be read (fail closed, retryable)."""
    body = {"code": decision.reason_code, "message": decision.message, "rule_id": decision.rule_id,
            "policy_version": decision.policy_version, "policy_sha256": decision.policy_sha256}
    if decision.reason_code == ReasonCode.POLICY_UNAVAILABLE:
        return Response(status_code=503, content_type="application/json", body=json.dumps(body),
                        headers={"Retry-After": "1"})
    return Response(status_code=403, content_type="application/json", body=json.dumps(body))


def throttled_response(admission: Admission) -> Response:
    """429 THROTTLED with Retry-After: over a rate quota, nothing processed."""
    return Response(status_code=429, content_type="application/json", body=json.dumps(throttled_body(admission)),
                    headers={"Retry-After": str(admission.retry_after)})


def requires(operation: str, gate: GateProvider, *, audit_while_parsing: bool = False) -> Middleware:
    """A route middleware that checks the caller for `operation` before the route runs.

    `audit_while_parsing`: an allow's audit record is written while the route parses its request (e.g.
    decodes the photo it was sent), and the route calls `audited(router)` before any face work; the
    record is stored before the answer in every case, and one that cannot be is a 503 POLICY_UNAVAILABLE
    whatever the route did. A deny is audited before the route could run, as without it.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
    provider = (lambda: gate) if isinstance(gate, PolicyGate) else gate

    def policy_middleware(app: Any, next_middleware: NextMiddleware, gate: PolicyGate) -> Response:
        event = app.current_event.raw_event
        customer_id = authorizer_customer_id(event)
        context = event.get("requestContext") or {}
        source = f"http {context.get('routeKey') or app.current_event.path}"
        request_id = request_id_of(event)
        if not audit_while_parsing:
            decision = gate.check(customer_id, operation, request_id=request_id, source=source)
            return _admitted(app, next_middleware, gate, customer_id, operation, decision, request_id)
        pending = gate.begin(customer_id, operation, request_id=request_id, source=source)
        app.append_context(**{AUDIT_KEY: pending})
        try:
            response = _admitted(app, next_middleware, gate, customer_id, operation, pending.provisional,
                                 request_id)
        except Exception:
            final = pending.settle()
            if final.allowed:
                raise
            return denied_response(final)  # the record is the answer, not what the route raised
        final = pending.settle()  # stored before the answer, whatever the route did
        return response if final.allowed else denied_response(final)

    # Resolved by Powertools like a route's Depends parameter (dependency_overrides apply).
    policy_middleware.__annotations__ = {"gate": Annotated[PolicyGate, Depends(provider)], "return": Response}
    policy_middleware.__name__ = f"requires_{operation}"
    policy_middleware.policy_operation = operation  # type: ignore[attr-defined]
    return policy_middleware


def _admitted(app: Any, next_middleware: NextMiddleware, gate: PolicyGate, customer_id: str, operation: str,
              decision: Decision, request_id: str) -> Response:
    """The route, for an allowed caller within its quota; else the refusal or the throttle."""
    if not decision.allowed:
        return denied_response(decision)
    if gate.quota is not None:  # the policy first (a refusal is a 403, never a 429), then the quota
        admission = gate.quota.admit(customer_id, operation, request_id=request_id)
        if not admission.allowed:
            return throttled_response(admission)
    app.append_context(**{CUSTOMER_KEY: customer_id, DECISION_KEY: decision})
    return next_middleware(app)


def policy_operation(middleware: Callable[..., Any]) -> str | None:
    """The operation a `requires` middleware checks, or None for any other middleware."""
    return getattr(middleware, "policy_operation", None)


_memo_lock = threading.Lock()


def memoize_dependency_trees() -> None:
    """Make Powertools' `depends.build_dependency_tree` build each function's tree once (idempotent).

    Powertools calls it for the route on every request (api_gateway._registered_api_adapter) and recursively
    for each dependency; the tree is a pure function of the annotations, which are fixed once a function is
    defined. Keyed weakly by the function, so a discarded route or dependency is not kept alive."""
    from aws_lambda_powertools.event_handler import depends

    with _memo_lock:
        build = depends.build_dependency_tree
        if getattr(build, "memoized", False):
            return
        trees: weakref.WeakKeyDictionary[Callable[..., Any], Any] = weakref.WeakKeyDictionary()

        def memoized(func: Callable[..., Any]) -> Any:
            try:
                return trees[func]
            except (KeyError, TypeError):  # TypeError: not weakly referenceable (built every time, as before)
                pass
            tree = build(func)
            try:
                trees[func] = tree
            except TypeError:
                pass
            return tree

        memoized.memoized = True  # type: ignore[attr-defined]
        memoized.__wrapped__ = build  # type: ignore[attr-defined]
        depends.build_dependency_tree = memoized


class PolicyHttpResolver(APIGatewayHttpResolver):
    """An APIGatewayHttpResolver (validation on) whose policy-checked routes check the policy first.

    Validation stays exactly Powertools' own (the public OpenAPI validation middlewares, response
    validation included); only its place in a policy-checked route's chain moves behind `requires`.
    Routes without `requires` keep Powertools' order.
    """

    _ROUTE = inspect.signature(APIGatewayHttpResolver.route)

    def __init__(self, **kwargs: Any) -> None:
        from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
            OpenAPIRequestValidationMiddleware,
            OpenAPIResponseValidationMiddleware,
        )

        super().__init__(enable_validation=True, **kwargs)
        memoize_dependency_trees()
        self._policy_first = (
            OpenAPIRequestValidationMiddleware(),
            OpenAPIResponseValidationMiddleware(validation_serializer=kwargs.get("serializer"),
                                                has_response_validation_error=bool(
                                                    kwargs.get("response_validation_error_http_code"))),
        )

    def route(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """Register a route (as the parent does); a policy-checked one gets policy -> validation order."""
        bound = self._ROUTE.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self")
        middlewares = list(params.get("middlewares") or ())
        policy = [m for m in middlewares if policy_operation(m)]
        if policy and params.get("enable_validation") is not False:
            request_validation, response_validation = self._policy_first
            others = [m for m in middlewares if not policy_operation(m)]
            params["middlewares"] = [*policy, request_validation, *others, response_validation]
            params["enable_validation"] = False
        return super().route(**params)


def current_customer_id(app: Any) -> str:
    """The customer the policy check admitted. Raises MissingPolicyCheck on a route without `requires`."""
    customer_id = app.context.get(CUSTOMER_KEY)
    if not customer_id:
        raise MissingPolicyCheck("route has no policy check: add middlewares=[requires(<operation>, gate)]")
    return str(customer_id)


def audited(app: Any) -> None:
    """Wait until this request's allow is on record (`requires(..., audit_while_parsing=True)`: call it
    before any face work); PolicyDenied (503 POLICY_UNAVAILABLE) when it could not be stored. A route
    whose check audited before it ran returns at once."""
    pending = app.context.get(AUDIT_KEY)
    if not isinstance(pending, PendingDecision):
        current_decision(app)  # MissingPolicyCheck on a route without `requires`
        return
    decision = pending.settle()
    if not decision.allowed:
        raise PolicyDenied(decision)


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
