"""The HTTP API authorizer: x-api-key -> customer id via the registry in moto; nothing sensitive logged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from facepolicy import CachedRegistry, hash_api_key
from facepolicy.dynamodb import DynamoDBRegistry
from facesearch.local.functions import load_module
from tests.support.events import load_event

from .conftest import ADMIN_ARN, Stack


class Context:
    function_name = "AuthorizerFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction"
    aws_request_id = "lambda-req-1"


@pytest.fixture
def authorizer(stack: Stack) -> Any:
    module = load_module("AuthorizerFunction", fresh=True)
    registry = CachedRegistry(stack.registry, ttl_seconds=60, clock=stack.clock)
    module.get_registry = lambda: registry
    return module


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record with all its fields (Powertools puts keyword fields on the record)."""
    return "\n".join(json.dumps(vars(r), default=str) for r in caplog.records)


def _call(authorizer: Any, key: str | None) -> dict[str, Any]:
    event = load_event("authorizer_request" if key is not None else "authorizer_request_missing_key")
    if key is not None:
        event["headers"]["x-api-key"] = key
        event["identitySource"] = [key]
    result: dict[str, Any] = authorizer.lambda_handler(event, Context())
    return result


def test_a_valid_key_is_authorized_with_the_customer_in_the_context(stack: Stack, authorizer: Any,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    customer, issued = stack.admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                                   principal=ADMIN_ARN, request_id="r")
    result = _call(authorizer, issued.secret)
    assert result == {"isAuthorized": True, "context": {"customer_id": customer.customer_id}}
    logged = _logged(caplog)
    assert customer.customer_id in logged  # the log lines, extra fields included, are captured...
    assert issued.secret not in logged and issued.key.key_hash not in logged  # ...and hold no key


def test_police_keys_are_authorized_too_because_the_routes_decide(stack: Stack, authorizer: Any) -> None:
    # The authorizer identifies; denial with a reason code and an audit record happens at the route.
    customer, issued = stack.admin.create_customer(name="PD", sector="law_enforcement", jurisdiction="US",
                                                   status="active", principal=ADMIN_ARN, request_id="r")
    assert _call(authorizer, issued.secret)["context"]["customer_id"] == customer.customer_id


@pytest.mark.parametrize("key", [None, "", "fsk_unknown", "not-even-our-format"])
def test_missing_or_unknown_keys_are_refused(stack: Stack, authorizer: Any, key: str | None,
                                             caplog: pytest.LogCaptureFixture) -> None:
    assert _call(authorizer, key) == {"isAuthorized": False}
    logged = _logged(caplog)
    assert "authorization refused" in logged
    if key:
        assert key not in logged and hash_api_key(key) not in logged


def test_a_revoked_key_is_refused_once_the_cache_expires(stack: Stack, authorizer: Any) -> None:
    # Given a customer with a key that has been used (and cached)
    customer, issued = stack.admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                                   principal=ADMIN_ARN, request_id="r")
    assert _call(authorizer, issued.secret)["isAuthorized"]
    # When the key is rotated (new key created, old revoked)
    new = stack.admin.rotate_key(customer.customer_id, issued.key.key_id, principal=ADMIN_ARN, request_id="r2")
    # Then the new key works at once, and the old one is refused within the cache time
    assert _call(authorizer, new.secret)["isAuthorized"]
    stack.clock.advance(60)
    assert _call(authorizer, issued.secret) == {"isAuthorized": False}


def test_a_registry_outage_refuses(stack: Stack, authorizer: Any) -> None:
    # Given a registry table that does not exist
    missing = DynamoDBRegistry(stack.resource.Table("no-such-table"))
    authorizer.get_registry = lambda: missing
    assert _call(authorizer, "fsk_anything") == {"isAuthorized": False}


def test_a_client_that_raises_refuses(stack: Stack, authorizer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = DynamoDBRegistry(stack.resource.Table("facesearch-test-registry"))

    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    monkeypatch.setattr(registry.table, "get_item", unreachable)
    authorizer.get_registry = lambda: registry
    assert _call(authorizer, "fsk_anything") == {"isAuthorized": False}
