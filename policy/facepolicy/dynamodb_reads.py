"""Registry reads over a low-level DynamoDB client: the authorizer's key lookup, without boto3.

The authorizer's work is one hash and one cached GetItem. boto3's resource API would cost it the boto3
import and the resource model (about 0.05-0.1 s of a cold start) for that one call, so this adapter takes
a plain botocore client (`facepolicy.env.botocore_client`) and reads the item's attribute values
itself. Same table, same item shapes, same answers as `DynamoDBRegistry` (dynamodb.py), which the admin
path keeps; `customer_from_item` is shared by both. botocore errors become RegistryUnavailable here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facepolicy.dynamodb_values import from_item, from_value
from facepolicy.errors import RegistryUnavailable
from facepolicy.model import Customer

PROFILE = "PROFILE"


def customer_pk(customer_id: str) -> str:
    """The registry's and the audit log's partition key of a customer."""
    return f"CUSTOMER#{customer_id}"


def _number(raw: str) -> int | Decimal:
    number = Decimal(raw)
    return int(number) if number == number.to_integral_value() else number


def plain(value: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value as a Python value (numbers: int or Decimal; binary: bytes)."""
    return from_value(value, _number)


def plain_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return from_item(item, _number)


def customer_from_item(item: Mapping[str, Any]) -> Customer:
    """A customer from its PROFILE item in plain values (as the resource API or `plain_item` give it)."""
    return Customer(
        customer_id=str(item["customer_id"]), name=str(item.get("name", "")), sector=str(item.get("sector", "")),
        status=str(item.get("status", "")), end_user_sectors=tuple(item.get("end_user_sectors", ())),
        jurisdiction=str(item.get("jurisdiction", "")), use_cases=tuple(item.get("use_cases", ())),
        attested_at=str(item.get("attested_at", "")), created_at=str(item.get("created_at", "")),
        updated_at=str(item.get("updated_at", "")), version=int(item.get("version", 0)),
        quotas={str(k): int(v) for k, v in (item.get("quotas") or {}).items()},
    )


class DynamoDBRegistryReader:
    """The registry's reads (`CustomerRegistry`) on the RegistryTable through a low-level botocore client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def _get(self, pk: str, sk: str, action: str) -> dict[str, Any] | None:
        try:
            item = self.client.get_item(TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                        ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise RegistryUnavailable(f"registry {action} failed: {exc}") from exc
        return plain_item(item) if item else None

    def get_customer(self, customer_id: str) -> Customer | None:
        item = self._get(customer_pk(customer_id), PROFILE, "read")
        return customer_from_item(item) if item else None

    def customer_for_key(self, key_hash: str) -> str | None:
        item = self._get(f"APIKEY#{key_hash}", "APIKEY", "key lookup")
        if not item or item.get("revoked_at"):
            return None
        return str(item["customer_id"])
