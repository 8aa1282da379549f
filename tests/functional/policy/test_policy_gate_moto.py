"""PolicyGate against the registry and audit tables in moto: outages, audit records, cache expiry."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from facepolicy import CachedRegistry, PolicyGate, ReasonCode, load_policy
from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry
from facepolicy.env import gate_from_env

from .conftest import ADMIN_ARN, Stack


def _customer(stack: Stack, sector: str = "retail", **fields: Any) -> str:
    customer, _ = stack.admin.create_customer(name=f"{sector} co", sector=sector, jurisdiction="US",
                                              status=fields.pop("status", "active"), principal=ADMIN_ARN,
                                              request_id="setup", **fields)
    return customer.customer_id


def _audit_of(stack: Stack, customer_id: str, request_id: str) -> Any:
    (record,) = [r for r in stack.audit.list_records(customer_id=customer_id).items if r.request_id == request_id]
    return record


def test_a_missing_registry_table_is_policy_unavailable_and_audited(stack: Stack) -> None:
    # Given a gate whose registry table does not exist
    gate = PolicyGate(DynamoDBRegistry(stack.resource.Table("no-such-table")), stack.audit, load_policy(),
                      clock=stack.clock, metrics=stack.metrics)
    # When a customer asks to search
    decision = gate.check("cus_x", "search", request_id="r-missing", source="test")
    # Then it is refused, fail closed, and the refusal is on record and counted
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.POLICY_UNAVAILABLE)
    assert _audit_of(stack, "cus_x", "r-missing").reason_code == ReasonCode.POLICY_UNAVAILABLE
    assert stack.metrics.added == [("PolicyDenied_POLICY_UNAVAILABLE", 1)]


@pytest.mark.parametrize("error", [
    EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"),
])
def test_a_client_that_raises_is_policy_unavailable(stack: Stack, error: Exception,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    customer_id = _customer(stack)
    registry = DynamoDBRegistry(stack.resource.Table("facesearch-test-registry"))

    def failing(**_: Any) -> Any:
        raise error

    monkeypatch.setattr(registry.table, "get_item", failing)
    gate = PolicyGate(registry, stack.audit, load_policy(), clock=stack.clock)
    decision = gate.check(customer_id, "index", request_id="r-raise", source="index_faces")
    assert decision.reason_code == ReasonCode.POLICY_UNAVAILABLE
    assert _audit_of(stack, customer_id, "r-raise").allowed is False


@pytest.mark.parametrize(("status", "operation", "code"), [
    ("suspended", "search", ReasonCode.CUSTOMER_NOT_ACTIVE),
    ("pending", "detect", ReasonCode.CUSTOMER_NOT_ACTIVE),
    ("terminated", "index", ReasonCode.CUSTOMER_NOT_ACTIVE),
    ("suspended", "delete", ReasonCode.ALLOWED),
])
def test_customers_not_active_are_refused_but_may_delete(stack: Stack, status: str, operation: str,
                                                         code: str) -> None:
    customer_id = _customer(stack, status=status)
    decision = stack.gate().check(customer_id, operation, request_id=f"r-{status}", source="test")
    assert decision.reason_code == code
    assert _audit_of(stack, customer_id, f"r-{status}").reason_code == code


def test_an_unknown_customer_is_refused_and_audited(stack: Stack) -> None:
    decision = stack.gate().check("cus_nobody", "compare", request_id="r-unknown", source="test")
    assert decision.reason_code == ReasonCode.CUSTOMER_UNKNOWN
    assert _audit_of(stack, "cus_nobody", "r-unknown").reason_code == ReasonCode.CUSTOMER_UNKNOWN


def test_audit_items_carry_ttl_and_the_decision(stack: Stack) -> None:
    customer_id = _customer(stack, "law_enforcement")
    stack.gate().check(customer_id, "search", request_id="r-ttl", source="test")
    items = stack.resource.Table("facesearch-test-audit").scan()["Items"]
    (item,) = [i for i in items if i.get("request_id") == "r-ttl"]
    assert item["pk"] == f"CUSTOMER#{customer_id}" and item["sk"].startswith(item["at"])
    assert (item["decision"], item["reason_code"], item["rule_id"]) == (
        "deny", "SECTOR_DISALLOWED", "law-enforcement-identification")
    assert int(item["expires_at"]) == int(stack.clock.now) + 400 * 86400


def test_a_suspension_through_the_admin_path_takes_effect_within_the_cache_time(stack: Stack) -> None:
    # Given a warm container that admitted a customer
    customer_id = _customer(stack)
    gate = stack.gate(ttl_seconds=60)
    assert gate.check(customer_id, "search", request_id="w1", source="t").allowed
    # When an admin suspends it
    stack.admin.update_customer(customer_id, {"status": "suspended"}, 1, principal=ADMIN_ARN, request_id="adm")
    # Then the container may still admit it until its cache entry is 60 s old, then refuses
    stack.clock.advance(30)
    assert gate.check(customer_id, "search", request_id="w2", source="t").allowed
    stack.clock.advance(30)
    assert gate.check(customer_id, "search", request_id="w3", source="t").reason_code == ReasonCode.CUSTOMER_NOT_ACTIVE


def test_an_audit_table_outage_refuses_rather_than_acting_unaudited(stack: Stack) -> None:
    customer_id = _customer(stack)
    gate = PolicyGate(CachedRegistry(stack.registry, clock=stack.clock), DynamoDBAuditLog(
        stack.resource.Table("no-such-audit")), load_policy(), clock=stack.clock)
    assert gate.check(customer_id, "detect", request_id="r", source="t").reason_code == ReasonCode.POLICY_UNAVAILABLE


def test_gate_from_env_uses_the_tables_and_cache_time(stack: Stack) -> None:
    customer_id = _customer(stack, "law_enforcement")
    gate = gate_from_env(stack.env(), boto3.client("dynamodb"))  # a low-level client: no resource on the data path
    assert isinstance(gate.registry, CachedRegistry) and gate.registry.ttl_seconds == 60
    assert gate.check(customer_id, "users", request_id="env", source="t").reason_code == "SECTOR_DISALLOWED"
    assert _audit_of(stack, customer_id, "env").operation == "users"


def test_audit_items_name_the_policy_and_the_sector(stack: Stack) -> None:
    customer_id = _customer(stack, "law_enforcement")
    stack.gate().check(customer_id, "search", request_id="r-policy", source="test")
    policy = load_policy()
    record = _audit_of(stack, customer_id, "r-policy")
    assert (record.policy_version, record.policy_sha256, record.sector) == (
        policy.version, policy.sha256, "law_enforcement")
