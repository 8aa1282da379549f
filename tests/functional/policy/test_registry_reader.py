"""The authorizer's registry reads over a low-level botocore client give the same answers as the
resource-based DynamoDBRegistry, on the same moto table; failures fail closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facepolicy.dynamodb_reads import DynamoDBRegistryReader, plain
from facepolicy.env import botocore_client, key_registry_from_env
from facepolicy.errors import RegistryUnavailable

from .conftest import ADMIN_ARN, REGISTRY_TABLE, Stack


@pytest.fixture
def reader(stack: Stack) -> DynamoDBRegistryReader:
    return DynamoDBRegistryReader(botocore_client("dynamodb"), REGISTRY_TABLE)


def test_customers_read_the_same_as_through_the_resource(stack: Stack, reader: DynamoDBRegistryReader) -> None:
    # Given a customer with lists, a map of quotas and a bumped version
    customer, _ = stack.admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                              end_user_sectors=["retail"], use_cases=["loyalty"],
                                              principal=ADMIN_ARN, request_id="r")
    stack.admin.update_customer(customer.customer_id, {"quotas": {"requests_per_second": 7}}, 1, principal=ADMIN_ARN,
                                request_id="r2")
    # Then the low-level reader and the resource adapter agree, field by field
    assert reader.get_customer(customer.customer_id) == stack.registry.get_customer(customer.customer_id)
    assert reader.get_customer("cus_unknown") is None


def test_keys_resolve_while_active_and_not_once_revoked_or_unknown(stack: Stack,
                                                                   reader: DynamoDBRegistryReader) -> None:
    customer, issued = stack.admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                                   principal=ADMIN_ARN, request_id="r")
    assert reader.customer_for_key(issued.key.key_hash) == customer.customer_id
    stack.admin.revoke_key(customer.customer_id, issued.key.key_id, principal=ADMIN_ARN, request_id="r2")
    assert reader.customer_for_key(issued.key.key_hash) is None
    assert reader.customer_for_key("0" * 64) is None


def test_a_missing_table_is_registry_unavailable(stack: Stack) -> None:
    reader = DynamoDBRegistryReader(botocore_client("dynamodb"), "no-such-table")
    with pytest.raises(RegistryUnavailable, match="key lookup"):
        reader.customer_for_key("0" * 64)
    with pytest.raises(RegistryUnavailable, match="read"):
        reader.get_customer("cus_x")


def test_the_authorizer_registry_is_composed_from_the_environment(stack: Stack) -> None:
    _, issued = stack.admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                            principal=ADMIN_ARN, request_id="r")
    registry = key_registry_from_env(stack.env())
    assert isinstance(registry.inner, DynamoDBRegistryReader) and registry.ttl_seconds == 60
    assert registry.customer_for_key(issued.key.key_hash) == issued.key.customer_id


def test_the_lean_client_knows_its_service_and_answers_like_boto3s(stack: Stack) -> None:
    client = botocore_client("dynamodb")
    assert client.meta.service_model.service_name == "dynamodb"
    assert REGISTRY_TABLE in client.list_tables()["TableNames"]


@pytest.mark.parametrize(("value", "expected"), [
    ({"S": "x"}, "x"), ({"N": "3"}, 3), ({"N": "2.5"}, Decimal("2.5")), ({"BOOL": False}, False),
    ({"NULL": True}, None), ({"L": [{"S": "a"}, {"N": "1"}]}, ["a", 1]), ({"M": {"k": {"N": "10"}}}, {"k": 10}),
    ({"SS": ["a", "b"]}, {"a", "b"}), ({"NS": ["1", "1.5"]}, {1, Decimal("1.5")}), ({"B": b"\x00"}, b"\x00"),
])
def test_attribute_values_become_plain_values(value: dict[str, object], expected: object) -> None:
    assert plain(value) == expected


def test_an_unknown_attribute_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type"):
        plain({"X": "?"})
