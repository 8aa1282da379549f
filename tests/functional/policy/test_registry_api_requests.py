"""registry_api's requests as a hostile or careless client sends them: every one a clear 4xx with a reason code."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from facesearch.local.functions import load_module
from tests.support.events import load_event

from .conftest import Stack
from .test_policy_registry_api import Context, _call, _create

CUSTOMER = {"name": "Acme", "sector": "media", "jurisdiction": "US"}


@pytest.fixture
def api(stack: Stack) -> Any:
    module = load_module("RegistryApiFunction", fresh=True)
    module.get_admin = lambda: stack.admin
    return module


def _status_code(response: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    status, body = response
    assert set(body) == {"code", "message"} and body["message"], body
    return status, body["code"]


@pytest.mark.parametrize(("raw", "why"), [
    ('{"name": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),  # was a RecursionError: the invocation failed
    ('{"use_cases": ' + "[" * 40 + "]" * 40 + "}", "nested"),
    ('{"name": "A", "sector": "media", "jurisdiction": "US", "attested_at": NaN}', "NaN"),
    ('{"name": "A", "sector": "media", "jurisdiction": "US", "attested_at": -Infinity}', "Infinity"),
    ('{"name": ' + "9" * 5000 + "}", "digits"),
    ("{not json", "not valid JSON"),
    ('{"name": "A"', "not valid JSON"),
])
def test_hostile_json_is_a_400_that_says_why(stack: Stack, api: Any, raw: str, why: str) -> None:
    status, body = _call(api, "create_customer", raw_body=raw)
    assert (status, body["code"]) == (400, "BAD_REQUEST")
    assert why in body["message"]
    assert list(api.get_admin().list_customers(limit=10, cursor="").items) == []


def test_a_huge_body_is_a_413_and_never_reaches_the_registry(stack: Stack, api: Any) -> None:
    # was a 503 SERVICE_UNAVAILABLE: DynamoDB refused the 2 MB item
    body = {**CUSTOMER, "use_cases": ["x" * 1000] * 2000}
    assert _status_code(_call(api, "create_customer", body=body)) == (413, "BODY_TOO_LARGE")
    patch = {"version": 1, "use_cases": ["x" * 1000] * 100}
    created = _create(api)
    assert _status_code(_call(api, "update_customer", path={"customer_id": created["customer"]["customer_id"]},
                              body=patch)) == (413, "BODY_TOO_LARGE")


@pytest.mark.parametrize(("body", "field"), [
    ({**CUSTOMER, "name": 5}, "body.name: Input should be a valid string"),
    ({**CUSTOMER, "name": ""}, "body.name: String should have at least 1 character"),
    ({**CUSTOMER, "end_user_sectors": "media"}, "body.end_user_sectors: Input should be a valid list"),
    ({**CUSTOMER, "use_cases": [1]}, "body.use_cases.0: Input should be a valid string"),
    ({**CUSTOMER, "status": None}, "body.status: Input should be a valid string"),
    ({**CUSTOMER, "admin": True}, "body.admin: Extra inputs are not permitted"),
    ([CUSTOMER], "body: Input should be a valid dictionary"),  # was taken for its first element
    ("customer", "body: Input should be a valid dictionary"),
    (None, "body: Field required"),
])
def test_wrong_types_are_a_400_naming_the_field(stack: Stack, api: Any, body: Any, field: str) -> None:
    status, answer = _call(api, "create_customer", raw_body=json.dumps(body))
    assert (status, answer["code"]) == (400, "BAD_REQUEST")
    assert field in answer["message"]


@pytest.mark.parametrize(("patch", "status", "code"), [
    ({"version": "abc"}, 400, "BAD_REQUEST"),
    ({"version": 1.5}, 400, "BAD_REQUEST"),
    ({"version": 0}, 400, "BAD_REQUEST"),
    ({"version": 1, "quotas": [1]}, 400, "BAD_REQUEST"),
    ({"version": 1, "quotas": {"max_collections": 2.5}}, 400, "BAD_REQUEST"),
    ({"version": "1", "name": "Acme 2"}, 200, None),  # lax as before: a numeric string, a whole float
    ({"version": 2.0, "name": "Acme 3"}, 200, None),
])
def test_patch_bodies_are_validated_as_before(stack: Stack, api: Any, patch: dict[str, Any], status: int,
                                              code: str | None) -> None:
    customer_id = _create(api)["customer"]["customer_id"]
    if patch.get("version") == 2.0:
        _call(api, "update_customer", path={"customer_id": customer_id}, body={"version": 1, "name": "Acme 2"})
    got, body = _call(api, "update_customer", path={"customer_id": customer_id}, body=patch)
    assert (got, body.get("code")) == (status, code), body


@pytest.mark.parametrize(("query", "message"), [
    ({"limit": "abc"}, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ({"limit": ""}, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ({"limit": "1,2"}, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ({"limit": "2.5"}, "query.limit: Input should be a valid integer, got a number with a fractional part"),
    ({"limit": "-1"}, "query.limit: Input should be greater than or equal to 1"),
    ({"limit": "101"}, "query.limit: Input should be less than or equal to 100"),
])
def test_query_parameters_are_checked_as_before(stack: Stack, api: Any, query: dict[str, str], message: str) -> None:
    assert _call(api, "list_customers", query=query) == (400, {"code": "BAD_REQUEST", "message": message})


@pytest.mark.parametrize("limit", ["1", " 1", "1.0", "+1"])
def test_lax_integer_query_parameters_still_pass(stack: Stack, api: Any, limit: str) -> None:
    _create(api)
    _create(api, customer_id="second")
    status, body = _call(api, "list_customers", query={"limit": limit})
    assert status == 200 and len(body["customers"]) == 1 and body["next_cursor"]


def test_a_base64_body_is_read_and_bad_base64_refused(stack: Stack, api: Any) -> None:
    event_body = json.dumps({**CUSTOMER, "customer_id": "b64-co"})
    status, created = _call(api, "create_customer", raw_body=base64.b64encode(event_body.encode()).decode(),
                            base64_encoded=True)
    assert status == 201 and created["customer"]["customer_id"] == "b64-co"
    assert _status_code(_call(api, "create_customer", raw_body="!!not base64", base64_encoded=True)) == (
        400, "BAD_REQUEST")
    not_utf8 = base64.b64encode(b'{"name": "\xff"}').decode()
    status, body = _call(api, "create_customer", raw_body=not_utf8, base64_encoded=True)
    assert (status, body["code"]) == (400, "BAD_REQUEST") and "UTF-8" in body["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_is_a_415(stack: Stack, api: Any, content_type: str) -> None:
    # was Powertools' own {"statusCode", "detail"} body (text/plain) or a form parsed into a 400
    status = _call(api, "create_customer", body=CUSTOMER, headers={"content-type": content_type})
    assert _status_code(status) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_json_body_without_a_content_type_is_read(stack: Stack, api: Any) -> None:
    status, created = _call(api, "create_customer", body={**CUSTOMER, "customer_id": "no-type"}, headers={})
    assert status == 201 and created["customer"]["customer_id"] == "no-type"


def test_a_route_the_function_does_not_serve_is_a_404(stack: Stack, api: Any) -> None:
    event = load_event("registry_api_list_customers")
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /admin/everything"
    response = api.lambda_handler(event, Context())
    assert response["statusCode"] == 404 and json.loads(response["body"])["code"] == "NOT_FOUND"


def test_answers_are_json_responses_as_before(stack: Stack, api: Any) -> None:
    response = api.lambda_handler(load_event("registry_api_list_customers"), Context())
    assert {k: v for k, v in response.items() if k != "body"} == {
        "statusCode": 200, "headers": {"Content-Type": "application/json"}, "cookies": [], "isBase64Encoded": False}
    assert json.loads(response["body"]) == {"customers": [], "next_cursor": None}
