"""DynamoDB adapters of the registry and the audit log (tables defined in template.yaml).

Registry table items (pk / sk):
  CUSTOMER#{customer_id} / PROFILE          the customer (see _customer_item), `version` for optimistic locking
  CUSTOMER#{customer_id} / KEY#{key_id}     a key of the customer: key_hash, prefix, created_at, revoked_at
  APIKEY#{key_hash}      / APIKEY           the key lookup of the authorizer: customer_id, key_id, revoked_at
Audit table items (pk / sk):
  CUSTOMER#{customer_id} / {at}#{request_id}#{nonce}   one decision or change; `expires_at` (TTL, epoch s);
  time index gsi1: gsi1pk = DAY#{yyyy-mm-dd}#{shard}, gsi1sk = {at}#{customer_id}. The day is split over
  AUDIT_TIME_SHARDS partitions (shard = the nonce mod 16): one day's writes never share one GSI partition, whose
  back-pressure would throttle the table and, through a gate that fails closed, refuse requests.

botocore errors are translated here into the domain's exceptions; nothing above this module sees them.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from facepolicy.audit import iso_time
from facepolicy.dynamodb_audit import AUDIT_TIME_INDEX, AUDIT_TIME_SHARDS, audit_day_shard, audit_item
from facepolicy.dynamodb_reads import PROFILE, customer_from_item
from facepolicy.dynamodb_reads import customer_pk as _customer_pk
from facepolicy.errors import (
    AuditUnavailable,
    CustomerExists,
    CustomerNotFound,
    KeyNotFound,
    RegistryUnavailable,
    VersionConflict,
)
from facepolicy.model import ApiKey, AuditRecord, Customer, Page

AUDIT_LOOKBACK_DAYS = 31  # how far a listing across customers without `since` reaches back
_CUSTOMER_FIELDS = ("name", "sector", "status", "end_user_sectors", "jurisdiction", "use_cases", "attested_at",
                    "quotas")


def _encode_cursor(last_key: Mapping[str, Any] | None) -> str:
    if not last_key:
        return ""
    return base64.urlsafe_b64encode(json.dumps(dict(last_key), sort_keys=True).encode()).decode()


def _decode_cursor(cursor: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("malformed cursor")
    return value


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _registry_errors(action: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise RegistryUnavailable(f"registry {action} failed: {exc}") from exc


def _customer_item(customer: Customer) -> dict[str, Any]:
    return {
        "pk": _customer_pk(customer.customer_id), "sk": PROFILE, "type": "customer",
        "customer_id": customer.customer_id, "name": customer.name, "sector": customer.sector,
        "status": customer.status, "end_user_sectors": list(customer.end_user_sectors),
        "jurisdiction": customer.jurisdiction, "use_cases": list(customer.use_cases),
        "attested_at": customer.attested_at, "created_at": customer.created_at,
        "updated_at": customer.updated_at, "version": customer.version, "quotas": dict(customer.quotas),
    }


def _key_from_item(item: Mapping[str, Any]) -> ApiKey:
    return ApiKey(key_id=str(item["key_id"]), customer_id=str(item["customer_id"]), key_hash=str(item["key_hash"]),
                  prefix=str(item.get("prefix", "")), created_at=str(item.get("created_at", "")),
                  revoked_at=str(item.get("revoked_at", "")))


def _key_items(key: ApiKey) -> tuple[dict[str, Any], dict[str, Any]]:
    common = {"customer_id": key.customer_id, "key_id": key.key_id, "key_hash": key.key_hash,
              "prefix": key.prefix, "created_at": key.created_at}
    if key.revoked_at:
        common["revoked_at"] = key.revoked_at
    lookup = {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", "type": "api_key", **common}
    ref = {"pk": _customer_pk(key.customer_id), "sk": f"KEY#{key.key_id}", "type": "api_key_ref", **common}
    return lookup, ref


class DynamoDBRegistry:
    """The customer registry on the RegistryTable (a boto3 DynamoDB Table resource)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.client = table.meta.client  # a resource client: takes and returns plain Python values
        self.table_name: str = table.name

    # ---- reads (gate, authorizer)
    def get_customer(self, customer_id: str) -> Customer | None:
        with _registry_errors("read"):
            item = self.table.get_item(Key={"pk": _customer_pk(customer_id), "sk": PROFILE},
                                       ConsistentRead=True).get("Item")
        return customer_from_item(item) if item else None

    def customer_for_key(self, key_hash: str) -> str | None:
        with _registry_errors("key lookup"):
            item = self.table.get_item(Key={"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"},
                                       ConsistentRead=True).get("Item")
        if not item or item.get("revoked_at"):
            return None
        return str(item["customer_id"])

    # ---- writes (admin path)
    def put_customer(self, customer: Customer, first_key: ApiKey) -> None:
        lookup, ref = _key_items(first_key)
        not_exists = "attribute_not_exists(pk)"
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": _customer_item(customer),
                         "ConditionExpression": not_exists}},
                {"Put": {"TableName": self.table_name, "Item": lookup, "ConditionExpression": not_exists}},
                {"Put": {"TableName": self.table_name, "Item": ref}},
            ])
        except ClientError as exc:
            if _error_code(exc) == "TransactionCanceledException":
                raise CustomerExists(f"customer {customer.customer_id} already exists") from exc
            raise RegistryUnavailable(f"registry write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailable(f"registry write failed: {exc}") from exc

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], expected_version: int,
                        updated_at: str) -> Customer:
        unknown = set(changes) - set(_CUSTOMER_FIELDS)
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        names = {"#v": "version", "#u": "updated_at"}
        values: dict[str, Any] = {":expected": expected_version, ":one": 1, ":u": updated_at}
        sets = ["#v = #v + :one", "#u = :u"]
        for i, (field_name, value) in enumerate(sorted(changes.items())):
            names[f"#f{i}"] = field_name
            values[f":f{i}"] = list(value) if isinstance(value, tuple) else value
            sets.append(f"#f{i} = :f{i}")
        try:
            result = self.table.update_item(
                Key={"pk": _customer_pk(customer_id), "sk": PROFILE},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND #v = :expected",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise RegistryUnavailable(f"registry write failed: {exc}") from exc
            current = self.get_customer(customer_id)
            if current is None:
                raise CustomerNotFound(f"customer {customer_id} not found") from exc
            raise VersionConflict(
                f"customer {customer_id} is at version {current.version}, not {expected_version}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailable(f"registry write failed: {exc}") from exc
        return customer_from_item(result["Attributes"])

    def list_customers(self, limit: int = 50, cursor: str = "") -> Page[Customer]:
        start = _decode_cursor(cursor)
        items: list[Customer] = []
        with _registry_errors("scan"):
            while len(items) < limit:
                kwargs: dict[str, Any] = {"FilterExpression": Attr("sk").eq(PROFILE), "Limit": limit - len(items)}
                if start:
                    kwargs["ExclusiveStartKey"] = start
                page = self.table.scan(**kwargs)
                items.extend(customer_from_item(i) for i in page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        return Page(tuple(items), _encode_cursor(start))

    def put_key(self, key: ApiKey) -> None:
        lookup, ref = _key_items(key)
        try:
            self.client.transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": self.table_name,
                                    "Key": {"pk": _customer_pk(key.customer_id), "sk": PROFILE},
                                    "ConditionExpression": "attribute_exists(pk)"}},
                {"Put": {"TableName": self.table_name, "Item": lookup,
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self.table_name, "Item": ref}},
            ])
        except ClientError as exc:
            if _error_code(exc) == "TransactionCanceledException":
                raise CustomerNotFound(f"customer {key.customer_id} not found") from exc
            raise RegistryUnavailable(f"registry write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailable(f"registry write failed: {exc}") from exc

    def revoke_key(self, customer_id: str, key_id: str, revoked_at: str) -> ApiKey:
        with _registry_errors("read"):
            item = self.table.get_item(Key={"pk": _customer_pk(customer_id), "sk": f"KEY#{key_id}"},
                                       ConsistentRead=True).get("Item")
        if not item:
            raise KeyNotFound(f"key {key_id} not found for customer {customer_id}")
        key = _key_from_item(item)
        if key.revoked_at:
            return key
        update = {"UpdateExpression": "SET revoked_at = :r", "ExpressionAttributeValues": {":r": revoked_at},
                  "TableName": self.table_name}
        with _registry_errors("write"):
            self.client.transact_write_items(TransactItems=[
                {"Update": {"Key": {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY"}, **update}},
                {"Update": {"Key": {"pk": _customer_pk(customer_id), "sk": f"KEY#{key_id}"}, **update}},
            ])
        return ApiKey(key.key_id, key.customer_id, key.key_hash, key.prefix, key.created_at, revoked_at)

    def list_keys(self, customer_id: str) -> list[ApiKey]:
        with _registry_errors("query"):
            page = self.table.query(
                KeyConditionExpression=Key("pk").eq(_customer_pk(customer_id)) & Key("sk").begins_with("KEY#"))
        return sorted((_key_from_item(i) for i in page.get("Items", [])), key=lambda k: k.created_at)


def _days_between(first: str, last: str) -> list[str]:
    """UTC dates (yyyy-mm-dd) from first to last, inclusive."""
    day, end = datetime.strptime(first[:10], "%Y-%m-%d"), datetime.strptime(last[:10], "%Y-%m-%d")
    out = []
    while day <= end:
        out.append(day.strftime("%Y-%m-%d"))
        day += timedelta(days=1)
    return out


def _audit_from_item(item: Mapping[str, Any]) -> AuditRecord:
    details = item.get("details") or {}
    return AuditRecord(
        customer_id=str(item["customer_id"]), operation=str(item["operation"]), allowed=bool(item["allowed"]),
        reason_code=str(item["reason_code"]), rule_id=str(item["rule_id"]) if item.get("rule_id") else None,
        request_id=str(item.get("request_id", "")), source=str(item.get("source", "")), at=str(item["at"]),
        message=str(item.get("message", "")), principal=str(item.get("principal", "")),
        details={str(k): str(v) for k, v in details.items()},
        policy_version=int(item.get("policy_version", 0)), policy_sha256=str(item.get("policy_sha256", "")),
        sector=str(item.get("sector", "")),
    )


class DynamoDBAuditLog:
    """The audit log on the AuditTable; records expire after `retention_days` (table TTL).

    By customer: a query of the customer's partition. By time: queries of the sharded time index (gsi1),
    merged newest first. Never a scan.
    """

    def __init__(self, table: Any, retention_days: int = 400, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.retention_days = retention_days
        self.clock = clock

    def record(self, record: AuditRecord) -> None:
        try:
            self.table.put_item(Item=audit_item(record, self.retention_days))
        except (ClientError, BotoCoreError) as exc:
            raise AuditUnavailable(f"audit write failed: {exc}") from exc

    def list_records(self, customer_id: str = "", since: str = "", until: str = "", limit: int = 50,
                     cursor: str = "") -> Page[AuditRecord]:
        """Newest first, for one customer (its partition) or across customers (the time index)."""
        try:
            if customer_id:
                return self._list_customer(customer_id, since, until, limit, cursor)
            return self._list_by_time(since, until, limit, cursor)
        except (ClientError, BotoCoreError) as exc:
            raise AuditUnavailable(f"audit read failed: {exc}") from exc

    def _list_customer(self, customer_id: str, since: str, until: str, limit: int, cursor: str) -> Page[AuditRecord]:
        start = _decode_cursor(cursor)
        low, high = since or "0", (until or "9999") + "\uffff"
        records: list[AuditRecord] = []
        while len(records) < limit:
            kwargs: dict[str, Any] = {"Limit": limit - len(records)}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self.table.query(
                KeyConditionExpression=Key("pk").eq(_customer_pk(customer_id)) & Key("sk").between(low, high),
                ScanIndexForward=False, **kwargs)
            records.extend(_audit_from_item(i) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return Page(tuple(records), _encode_cursor(start))

    def _list_by_time(self, since: str, until: str, limit: int, cursor: str) -> Page[AuditRecord]:
        upper = until or iso_time(self.clock())
        lower = since or iso_time(datetime.fromisoformat(upper[:10]).replace(tzinfo=UTC).timestamp()
                                 - AUDIT_LOOKBACK_DAYS * 86400)
        after = _decode_cursor(cursor) or {}
        position = (after["gsi1sk"], after["pk"], after["sk"]) if after else None
        days = [d for d in reversed(_days_between(lower, upper)) if not position or d <= position[0][:10]]
        items: list[dict[str, Any]] = []
        for day in days:
            high = position[0] if position and position[0][:10] == day else upper + "\uffff"
            found = [i for shard in range(AUDIT_TIME_SHARDS)
                     for i in self._query_shard(day, shard, lower, high, limit, newest_first=True)]
            ordered = sorted(found, key=_time_order, reverse=True)
            items.extend(i for i in ordered if position is None or _time_order(i) < position)
            if len(items) >= limit:
                break
        page = items[:limit]
        last = page[-1] if len(page) == limit else None
        next_cursor = _encode_cursor({"gsi1sk": last["gsi1sk"], "pk": last["pk"], "sk": last["sk"]}) if last else ""
        return Page(tuple(_audit_from_item(i) for i in page), next_cursor)

    def _query_shard(self, day: str, shard: int, low: str, high: str, limit: int = 0,
                     newest_first: bool = False) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "IndexName": AUDIT_TIME_INDEX, "ScanIndexForward": not newest_first,
            "KeyConditionExpression": Key("gsi1pk").eq(audit_day_shard(day, shard)) & Key("gsi1sk").between(low, high),
        }
        if limit:
            kwargs["Limit"] = limit
        while True:
            page = self.table.query(**kwargs)
            yield from page.get("Items", [])
            if limit or not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def records_between(self, start: str, end: str) -> Iterator[AuditRecord]:
        """The records with start <= at < end, in no particular order (for reports)."""
        return (_audit_from_item(i) for i in self.items_between(start, end))

    def items_between(self, start: str, end: str) -> Iterator[dict[str, Any]]:
        """Every stored item (all attributes) with start <= at < end, through the time index (for sealing)."""
        if end <= start:
            return
        last_day = iso_time(datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() - 0.001)
        try:
            for day in _days_between(start, last_day):
                for shard in range(AUDIT_TIME_SHARDS):
                    for item in self._query_shard(day, shard, start, end):
                        if start <= str(item.get("at", "")) < end:
                            yield item
        except (ClientError, BotoCoreError) as exc:
            raise AuditUnavailable(f"audit read failed: {exc}") from exc


def _time_order(item: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(item["gsi1sk"]), str(item["pk"]), str(item["sk"])
