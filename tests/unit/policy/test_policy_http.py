"""requires(operation, gate): a route declares its operation once; the customer comes from the authorizer."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, depends
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict

from facepolicy import (
    InMemoryAuditLog,
    MissingPolicyCheck,
    PolicyGate,
    PolicyHttpResolver,
    current_customer_id,
    current_decision,
    register_policy_handlers,
    requires,
)
from tests.support.events import load_event


def _app(gate: PolicyGate) -> tuple[APIGatewayHttpResolver, list[str]]:
    app = APIGatewayHttpResolver()
    ran: list[str] = []

    @app.post("/collections/<collection_id>/search", middlewares=[requires("search", lambda: gate)])
    def search(collection_id: str) -> dict[str, Any]:
        ran.append(current_customer_id(app))
        return {"customer_id": current_customer_id(app), "rule": current_decision(app).reason_code}

    @app.post("/detect", middlewares=[requires("detect", gate)])  # a gate object works as well as a provider
    def detect() -> dict[str, Any]:
        return {"customer_id": current_customer_id(app)}

    @app.post("/unprotected")
    def unprotected() -> dict[str, Any]:
        return {"customer_id": current_customer_id(app)}

    @app.post("/enforced")
    def enforced() -> dict[str, Any]:
        gate.enforce("pd", "users", request_id="x", source="t")
        return {}

    register_policy_handlers(app)
    return app, ran


def _event(customer_id: str | None, path: str = "/collections/family/search", body: Any = None) -> dict[str, Any]:
    event = load_event("authorizer_context_route")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/prod{path}"
    if customer_id is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["lambda"]["customer_id"] = customer_id
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def test_an_allowed_customer_reaches_the_route_with_its_id(gate: PolicyGate) -> None:
    app, ran = _app(gate)
    response = app.resolve(_event("shop"), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"customer_id": "shop", "rule": "ALLOWED"}
    assert ran == ["shop"]


def test_a_denied_customer_gets_403_with_code_message_and_rule_and_the_route_never_runs(gate: PolicyGate) -> None:
    app, ran = _app(gate)
    response = app.resolve(_event("pd"), None)
    body = json.loads(response["body"])
    assert response["statusCode"] == 403
    assert body["code"] == "SECTOR_DISALLOWED" and body["rule_id"] == "law-enforcement-identification"
    assert "law_enforcement" in body["message"]
    assert ran == []


def test_the_customer_id_in_the_body_is_ignored(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    # Given police claiming, in the body, to be the retailer
    app, ran = _app(gate)
    response = app.resolve(_event("pd", body={"customer_id": "shop"}), None)
    # Then the authorizer's customer is the one checked
    assert response["statusCode"] == 403 and ran == []
    assert audit.records[-1].customer_id == "pd"


def test_no_authorizer_context_is_an_unknown_customer(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    app, _ = _app(gate)
    response = app.resolve(_event(None, body={"customer_id": "shop"}), None)
    assert (response["statusCode"], json.loads(response["body"])["code"]) == (403, "CUSTOMER_UNKNOWN")
    assert audit.records[-1].customer_id == "anonymous"


def test_the_audit_record_names_the_route_and_request(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    app, _ = _app(gate)
    app.resolve(_event("shop", path="/detect"), None)
    record = audit.records[-1]
    assert (record.operation, record.request_id) == ("detect", "Ab1CdEfGhIjKlMn=")
    assert record.source.startswith("http ")


def test_a_route_without_a_policy_check_cannot_get_a_customer(gate: PolicyGate) -> None:
    app, _ = _app(gate)
    with pytest.raises(MissingPolicyCheck, match="no policy check"):
        app.resolve(_event("shop", path="/unprotected"), None)


def test_policy_denied_raised_in_a_route_becomes_the_same_403(gate: PolicyGate) -> None:
    app, _ = _app(gate)
    response = app.resolve(_event("shop", path="/enforced"), None)
    assert (response["statusCode"], json.loads(response["body"])["code"]) == (403, "SECTOR_DISALLOWED")


def test_an_unknown_operation_is_refused_when_the_route_is_declared() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        requires("identify", lambda: None)  # type: ignore[arg-type,return-value]


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_faces: int


def _validated_app(gate: PolicyGate) -> APIGatewayHttpResolver:
    app = PolicyHttpResolver()

    @app.post("/collections/<collection_id>/search", middlewares=[requires("search", gate)])
    def search(collection_id: str, body: SearchBody) -> dict[str, Any]:
        return {"max_faces": body.max_faces}

    return app


def test_a_refused_customer_with_a_malformed_body_gets_its_audited_403_not_a_400(
        gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    # Given a validating app and police sending a body that fails validation
    app = _validated_app(gate)
    event = _event("pd", body={"max_faces": "many", "unknown": 1})
    # When it is resolved
    response = app.resolve(event, None)
    # Then the policy answered first, and that answer was audited once
    assert (response["statusCode"], json.loads(response["body"])["code"]) == (403, "SECTOR_DISALLOWED")
    assert [(r.customer_id, r.reason_code) for r in audit.records] == [("pd", "SECTOR_DISALLOWED")]


def test_an_allowed_customer_is_checked_once_then_validated(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    app = _validated_app(gate)
    bad = app.resolve(_event("shop", body={"max_faces": "many"}), None)
    good = app.resolve(_event("shop", body={"max_faces": 3}), None)
    assert bad["statusCode"] == 422 and good["statusCode"] == 200
    assert json.loads(good["body"]) == {"max_faces": 3}
    assert len(audit.records) == 2  # one decision per request, not two


def test_routes_of_an_included_router_check_the_policy_before_validation(
        gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    # Given a router (as face_api's routes are written) included into a PolicyHttpResolver
    router = APIGatewayHttpRouter()

    @router.post("/collections/<collection_id>/search", middlewares=[requires("search", gate)])
    def search(collection_id: str, body: SearchBody) -> dict[str, Any]:
        return {"max_faces": body.max_faces}

    app = PolicyHttpResolver()
    app.include_router(router)
    # When police send a malformed body, and a retailer a valid one
    refused = app.resolve(_event("pd", body={"max_faces": "many"}), None)
    served = app.resolve(_event("shop", body={"max_faces": 2}), None)
    # Then police get the policy's answer, the retailer the validated route
    assert (refused["statusCode"], json.loads(refused["body"])["code"]) == (403, "SECTOR_DISALLOWED")
    assert (served["statusCode"], json.loads(served["body"])) == (200, {"max_faces": 2})


def test_a_route_without_a_policy_check_is_validated_as_powertools_does(gate: PolicyGate) -> None:
    app = PolicyHttpResolver()

    @app.post("/open")
    def open_route(body: SearchBody) -> dict[str, Any]:
        return {"max_faces": body.max_faces}

    assert app.resolve(_event("pd", path="/open", body={"max_faces": "many"}), None)["statusCode"] == 422
    assert app.resolve(_event("pd", path="/open", body={"max_faces": 1}), None)["statusCode"] == 200


def test_the_gate_is_a_dependency_that_dependency_overrides_replace(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    # Given a route whose gate comes from a provider that cannot build one here
    def production_gate() -> PolicyGate:
        raise RuntimeError("no AWS in unit tests")

    app = PolicyHttpResolver()

    @app.post("/detect", middlewares=[requires("detect", production_gate)])
    def detect() -> dict[str, Any]:
        return {"customer_id": current_customer_id(app)}

    # When a test overrides the provider, as with any Powertools dependency
    app.dependency_overrides[production_gate] = lambda: gate
    response = app.resolve(_event("shop", path="/detect"), None)
    # Then the overriding gate decided (and audited) the request
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"customer_id": "shop"})
    assert [(r.customer_id, r.operation) for r in audit.records] == [("shop", "detect")]


def first_value() -> str:
    return "first"


def second_value() -> str:
    return "second"


def test_each_route_keeps_its_own_dependencies_and_overrides_when_trees_are_built_once(
        gate: PolicyGate, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two routes of one resolver, each with its own dependency, and a count of the annotation reads
    app = PolicyHttpResolver()

    @app.post("/detect", middlewares=[requires("detect", gate)])
    def detect(value: Annotated[str, Depends(first_value)]) -> dict[str, Any]:
        return {"value": value}

    @app.post("/compare", middlewares=[requires("compare", gate)])
    def compare(value: Annotated[str, Depends(second_value)]) -> dict[str, Any]:
        return {"value": value}

    reads: list[Any] = []
    real_hints = depends.get_type_hints
    monkeypatch.setattr(depends, "get_type_hints", lambda f, **kw: (reads.append(f), real_hints(f, **kw))[1])

    def call(path: str) -> Any:
        response = app.resolve(_event("shop", path=path), None)
        assert response["statusCode"] == 200, response["body"]
        return json.loads(response["body"])["value"]

    # When each is called three times, then the other's dependency never leaks into it
    assert [call("/detect"), call("/compare")] == ["first", "second"]
    after_first = (reads.count(detect), reads.count(compare))
    assert [call("/detect"), call("/compare")] * 2 == ["first", "second"] * 2
    # and each route's annotations were read for the first request only (Powertools rebuilds its tree per call)
    assert after_first[0] >= 1 and (reads.count(detect), reads.count(compare)) == after_first
    # and an override set after the trees exist still applies on the next request, and only to its route
    app.dependency_overrides[first_value] = lambda: "override"
    assert [call("/detect"), call("/compare")] == ["override", "second"]
