"""The admin API (registry_api) over the registry and audit tables in moto: success and error paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facepolicy import hash_api_key
from facesearch.local.functions import load_module
from tests.support.events import load_event

from .conftest import ADMIN_ARN, Stack


class Context:
    function_name = "RegistryApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:RegistryApiFunction"
    aws_request_id = "lambda-req-2"


@pytest.fixture
def api(stack: Stack) -> Any:
    module = load_module("RegistryApiFunction", fresh=True)
    module.get_admin = lambda: stack.admin  # the routes take the admin from get_admin()
    return module


def _call(api: Any, name: str, *, body: Any = None, raw_body: str | None = None, path: dict[str, str] | None = None,
          query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
          base64_encoded: bool = False) -> tuple[int, dict[str, Any]]:
    event = load_event(f"registry_api_{name}")
    if path:
        event["pathParameters"] = path
        raw = event["requestContext"]["routeKey"].split(" ", 1)[1]
        for key, value in path.items():
            raw = raw.replace("{" + key + "}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/prod" + raw
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if base64_encoded:
        event["isBase64Encoded"] = True
    if headers is not None:
        event["headers"] = headers
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"])


def _create(api: Any, **overrides: Any) -> dict[str, Any]:
    body = load_event("registry_api_create_customer")
    fields = {**json.loads(body["body"]), **overrides}
    status, created = _call(api, "create_customer", body=fields)
    assert status == 201, created
    return created


def test_create_customer_returns_the_key_once_and_audits_the_admin(stack: Stack, api: Any) -> None:
    created = _create(api)
    customer_id, secret = created["customer"]["customer_id"], created["api_key"]["secret"]
    assert created["customer"]["version"] == 1 and created["customer"]["sector"] == "media"
    assert stack.registry.customer_for_key(hash_api_key(secret)) == customer_id
    status, fetched = _call(api, "get_customer", path={"customer_id": customer_id})
    assert status == 200 and "secret" not in json.dumps(fetched) and secret not in json.dumps(fetched)
    assert [k["key_id"] for k in fetched["keys"]] == [created["api_key"]["key_id"]]
    (record,) = stack.audit.list_records(customer_id=customer_id).items
    assert (record.operation, record.principal, record.details["action"]) == ("manage", ADMIN_ARN, "create_customer")


def test_patch_with_the_current_version_suspends_and_a_stale_version_conflicts(stack: Stack, api: Any) -> None:
    customer_id = _create(api)["customer"]["customer_id"]
    status, body = _call(api, "update_customer", path={"customer_id": customer_id},
                         body={"version": 1, "status": "suspended"})
    assert status == 200 and (body["customer"]["status"], body["customer"]["version"]) == ("suspended", 2)
    status, body = _call(api, "update_customer", path={"customer_id": customer_id},
                         body={"version": 1, "status": "active"})
    assert (status, body["code"]) == (409, "VERSION_CONFLICT")


def test_keys_can_be_created_and_revoked(stack: Stack, api: Any) -> None:
    created = _create(api)
    customer_id = created["customer"]["customer_id"]
    status, body = _call(api, "create_key", path={"customer_id": customer_id})
    assert status == 201 and body["api_key"]["secret"].startswith("fsk_")
    old = created["api_key"]
    status, body = _call(api, "revoke_key", path={"customer_id": customer_id, "key_id": old["key_id"]})
    assert status == 200 and body["api_key"]["active"] is False
    assert stack.registry.customer_for_key(hash_api_key(old["secret"])) is None


def test_list_customers_paginates(stack: Stack, api: Any) -> None:
    ids = {_create(api, name=f"Co {i}")["customer"]["customer_id"] for i in range(3)}
    status, first = _call(api, "list_customers", query={"limit": "2"})
    assert status == 200 and len(first["customers"]) == 2 and first["next_cursor"]
    _, second = _call(api, "list_customers", query={"limit": "2", "cursor": first["next_cursor"]})
    assert {c["customer_id"] for c in first["customers"] + second["customers"]} == ids


def test_list_audit_by_customer(stack: Stack, api: Any) -> None:
    customer_id = _create(api)["customer"]["customer_id"]
    stack.gate().check(customer_id, "search", request_id="req-1", source="test")
    status, body = _call(api, "list_audit", query={"customer_id": customer_id})
    assert status == 200
    assert [r["operation"] for r in body["records"]] == ["search", "manage"]  # newest first
    assert body["records"][0]["decision"] == "allow"


@pytest.mark.parametrize(("name", "kwargs", "status", "code"), [
    ("create_customer", {"raw_body": "{not json"}, 400, "BAD_REQUEST"),
    ("create_customer", {"body": {"name": "X", "sector": "police", "jurisdiction": "US"}}, 400, "INVALID_CUSTOMER"),
    ("create_customer", {"body": {"name": "X", "sector": "retail", "jurisdiction": "Narnia"}}, 400,
     "INVALID_CUSTOMER"),
    ("create_customer", {"body": {"name": "X", "sector": "retail"}}, 400, "BAD_REQUEST"),
    ("create_customer", {"body": {"name": "X", "sector": "retail", "jurisdiction": "US", "admin": True}}, 400,
     "BAD_REQUEST"),
    ("update_customer", {"path": {"customer_id": "cus_nobody"}, "body": {"version": 1, "status": "active"}}, 404,
     "CUSTOMER_NOT_FOUND"),
    ("update_customer", {"path": {"customer_id": "cus_nobody"}, "body": {"status": "active"}}, 400, "BAD_REQUEST"),
    ("get_customer", {"path": {"customer_id": "cus_nobody"}}, 404, "CUSTOMER_NOT_FOUND"),
    ("create_key", {"path": {"customer_id": "cus_nobody"}}, 404, "CUSTOMER_NOT_FOUND"),
    ("revoke_key", {"path": {"customer_id": "cus_nobody", "key_id": "key_x"}}, 404, "KEY_NOT_FOUND"),
    ("list_customers", {"query": {"cursor": "%%%"}}, 400, "BAD_REQUEST"),
    ("list_customers", {"query": {"limit": "0"}}, 400, "BAD_REQUEST"),
])
def test_errors_are_code_and_message(stack: Stack, api: Any, name: str, kwargs: dict[str, Any], status: int,
                                     code: str) -> None:
    got_status, body = _call(api, name, **kwargs)
    assert (got_status, body["code"]) == (status, code)
    assert set(body) == {"code", "message"} and body["message"]


def test_an_existing_customer_id_is_a_conflict(stack: Stack, api: Any) -> None:
    _create(api, customer_id="photo-co")
    status, body = _call(api, "create_customer", body={"customer_id": "photo-co", "name": "Again", "sector": "media",
                                                       "jurisdiction": "US"})
    assert (status, body["code"]) == (409, "CUSTOMER_EXISTS")
