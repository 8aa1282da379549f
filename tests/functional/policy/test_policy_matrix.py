"""The full matrix: every sector x every operation x both entry points, against the registry in moto.

Entry points: an HTTP route declared with `requires(operation, gate)` and called with an API Gateway v2
event carrying the authorizer's context; and the indexing check `gate.check(customer_id, "index",
source="index_faces")` for the customer named by an uploaded object's key in an SQS/S3 event.
Expected cells are read from policy.yaml directly, independently of `decide`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any
from urllib.parse import unquote_plus

import pytest
import yaml
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from moto import mock_aws

from facepolicy import OPERATIONS, Decision, PolicyGate, ReasonCode, current_customer_id, requires
from facepolicy.policy import POLICY_PATH
from tests.support.events import load_event

from .conftest import ADMIN_ARN, Stack, build_stack

POLICY = yaml.safe_load(POLICY_PATH.read_text())
SECTORS = tuple(POLICY["sectors"])
IDENTIFYING = ("compare", "index", "search", "users")
ROUTES = {  # operation -> (method, route path); the face_api routes of template.yaml that carry it
    "detect": ("POST", "/detect"),
    "compare": ("POST", "/compare"),
    "index": ("POST", "/collections/<collection_id>/uploads"),
    "search": ("POST", "/collections/<collection_id>/search"),
    "users": ("POST", "/collections/<collection_id>/users/search"),
    "manage": ("POST", "/collections"),
    "delete": ("DELETE", "/collections/<collection_id>/faces"),
}
_ids = count()


def expected_allowed(sectors: tuple[str, ...], operation: str) -> bool:
    """The cell as written in policy.yaml: denied when a rule names one of the sectors and the operation."""
    if operation in POLICY["always_allowed"]:
        return True
    return not any(operation in rule["deny"] and set(rule["sectors"]) & set(sectors) for rule in POLICY["rules"])


class World:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.gate: PolicyGate = stack.gate()
        self.ran: list[tuple[str, str]] = []
        self.direct: dict[str, str] = {}
        self.integrator: dict[str, str] = {}
        for sector in SECTORS:
            self.direct[sector] = self._customer(sector, sector, ())
            self.integrator[sector] = self._customer(sector, "technology", ("retail", sector))
        self.app = self._app()

    def _customer(self, tag: str, sector: str, end_users: tuple[str, ...]) -> str:
        customer, _ = self.stack.admin.create_customer(
            name=f"{tag} {sector}", sector=sector, end_user_sectors=end_users, jurisdiction="US",
            status="active", principal=ADMIN_ARN, request_id="setup")
        return customer.customer_id

    def _app(self) -> APIGatewayHttpResolver:
        app = APIGatewayHttpResolver()
        for operation, (method, path) in ROUTES.items():
            def route(operation: str = operation, **_: str) -> dict[str, Any]:
                customer_id = current_customer_id(app)
                self.ran.append((operation, customer_id))
                return {"operation": operation, "customer_id": customer_id}

            app.route(path, method=method, middlewares=[requires(operation, lambda: self.gate)])(route)
        return app

    def call_http(self, customer_id: str, operation: str) -> tuple[int, dict[str, Any], str]:
        method, path = ROUTES[operation]
        concrete = path.replace("<collection_id>", "family")
        event = load_event("authorizer_context_route")
        request_id = f"http-{next(_ids)}"
        event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path.replace('<', '{').replace('>', '}')}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/prod{concrete}"
        event["requestContext"]["http"]["method"] = method
        event["requestContext"]["requestId"] = request_id
        event["requestContext"]["authorizer"]["lambda"]["customer_id"] = customer_id
        event["body"] = json.dumps({"customer_id": "someone-else"})  # never read by the policy
        response = self.app.resolve(event, None)
        return response["statusCode"], json.loads(response["body"]), request_id

    def call_index(self, customer_id: str) -> tuple[Decision, str]:
        """What index_faces does first: the uploading customer from the object key, checked before any read."""
        event = load_event("sqs_s3_put")
        record = event["Records"][0]
        body = json.loads(record["body"])
        body["Records"][0]["s3"]["object"]["key"] = f"uploads/{customer_id}/family/photo.jpg"
        record["body"] = json.dumps(body)
        request_id = f"sqs-{next(_ids)}"
        record["messageId"] = request_id
        key = unquote_plus(json.loads(record["body"])["Records"][0]["s3"]["object"]["key"])
        uploader = key.split("/")[1]
        decision = self.gate.check(uploader, "index", request_id=record["messageId"], source="index_faces")
        return decision, request_id

    def audit_for(self, customer_id: str, request_id: str) -> list[Any]:
        page = self.stack.audit.list_records(customer_id=customer_id, limit=500)
        return [r for r in page.items if r.request_id == request_id]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        yield World(build_stack())


CELLS = [(sector, operation) for sector in SECTORS for operation in OPERATIONS]


@pytest.mark.parametrize("kind", ["direct", "integrator"])
@pytest.mark.parametrize(("sector", "operation"), CELLS)
def test_http_entry_point_matrix(world: World, kind: str, sector: str, operation: str) -> None:
    # Given an active customer of `sector` (or an integrator serving it) admitted by the authorizer
    customer_id = getattr(world, kind)[sector]
    served = (sector,) if kind == "direct" else ("technology", "retail", sector)
    allowed = expected_allowed(served, operation)
    # When it calls the route that declares `operation`
    status, body, request_id = world.call_http(customer_id, operation)
    # Then the file's cell decides: the route runs, or a 403 with the reason code and rule id
    if allowed:
        assert status == 200
        assert body == {"operation": operation, "customer_id": customer_id}
        assert world.ran[-1] == (operation, customer_id)
    else:
        assert status == 403
        assert body["code"] == ReasonCode.SECTOR_DISALLOWED
        assert body["rule_id"] in {r["id"] for r in POLICY["rules"] if sector in r["sectors"]}
        assert (operation, customer_id) not in world.ran[-1:]
    # And the decision left exactly one audit record
    (record,) = world.audit_for(customer_id, request_id)
    method, path = ROUTES[operation]
    route_key = f"{method} {path.replace('<', '{').replace('>', '}')}"
    assert (record.operation, record.allowed, record.source) == (operation, allowed, f"http {route_key}")
    assert record.reason_code == (ReasonCode.ALLOWED if allowed else ReasonCode.SECTOR_DISALLOWED)


@pytest.mark.parametrize("kind", ["direct", "integrator"])
@pytest.mark.parametrize("sector", SECTORS)
def test_index_entry_point_matrix(world: World, kind: str, sector: str) -> None:
    # Given an upload by a customer of `sector` (or an integrator serving it)
    customer_id = getattr(world, kind)[sector]
    served = (sector,) if kind == "direct" else ("technology", "retail", sector)
    # When the indexing entry point checks the uploader
    decision, request_id = world.call_index(customer_id)
    # Then the file's "index" cell decides, and the decision is audited as coming from index_faces
    assert decision.allowed is expected_allowed(served, "index")
    (record,) = world.audit_for(customer_id, request_id)
    assert (record.operation, record.allowed, record.source) == ("index", decision.allowed, "index_faces")


@pytest.mark.parametrize("kind", ["direct", "integrator"])
def test_police_and_their_integrators_are_refused_identification_but_can_delete(world: World, kind: str) -> None:
    # Given a police department calling directly, and an integrator whose end users include police
    customer_id = getattr(world, kind)["law_enforcement"]
    # When they call each identifying operation, index an upload, and delete their data
    statuses = {op: world.call_http(customer_id, op) for op in (*IDENTIFYING, "delete")}
    index_decision, _ = world.call_index(customer_id)
    # Then every identifying operation is refused with the moratorium rule, and deletion works
    for op in IDENTIFYING:
        status, body, _ = statuses[op]
        assert (status, body["code"], body["rule_id"]) == (403, "SECTOR_DISALLOWED", "law-enforcement-identification")
    assert not index_decision.allowed
    assert index_decision.rule_id == "law-enforcement-identification"
    assert statuses["delete"][0] == 200
