"""The audit table's item shape, and its writer over a low-level DynamoDB client (the gate's audit record).

Item (pk / sk): CUSTOMER#{customer_id} / {at}#{request_id}#{nonce}, `expires_at` (TTL, epoch s); time index
gsi1: gsi1pk = DAY#{yyyy-mm-dd}#{shard}, gsi1sk = {at}#{customer_id} (see dynamodb.py, which reads them).
Every gated request writes one record: a PutItem through a botocore client and facepolicy.dynamodb_values,
without boto3's import or its resource layer (also less CPU per request). botocore errors become
AuditUnavailable here.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facepolicy.dynamodb_reads import customer_pk
from facepolicy.dynamodb_values import to_item
from facepolicy.errors import AuditUnavailable
from facepolicy.model import AuditRecord

AUDIT_TIME_INDEX = "gsi1"
AUDIT_TIME_SHARDS = 16  # 16 GSI partitions per day: ~16k audit writes/s before the index pushes back


def audit_day_shard(day: str, shard: int) -> str:
    """The time index's partition key of one shard of one UTC day (yyyy-mm-dd)."""
    return f"DAY#{day}#{shard:02d}"


def audit_item(record: AuditRecord, retention_days: int) -> dict[str, Any]:
    """The stored item of one record, in plain values (a random nonce keeps same-millisecond records apart)."""
    epoch = int(datetime.fromisoformat(record.at.replace("Z", "+00:00")).timestamp())
    nonce = secrets.token_hex(4)
    item: dict[str, Any] = {
        "pk": customer_pk(record.customer_id),
        "sk": f"{record.at}#{record.request_id}#{nonce}",
        "gsi1pk": audit_day_shard(record.at[:10], int(nonce, 16) % AUDIT_TIME_SHARDS),
        "gsi1sk": f"{record.at}#{record.customer_id}",
        "customer_id": record.customer_id, "operation": record.operation, "allowed": record.allowed,
        "decision": "allow" if record.allowed else "deny", "reason_code": record.reason_code,
        "request_id": record.request_id, "source": record.source, "at": record.at, "message": record.message,
        "expires_at": epoch + retention_days * 86400,
    }
    if record.rule_id:
        item["rule_id"] = record.rule_id
    if record.principal:
        item["principal"] = record.principal
    if record.details:
        item["details"] = dict(record.details)
    if record.policy_sha256:
        item["policy_version"] = record.policy_version
        item["policy_sha256"] = record.policy_sha256
    if record.sector:
        item["sector"] = record.sector
    return item


class DynamoDBAuditWriter:
    """The audit log's write side (`facepolicy.audit.AuditSink`) on the AuditTable, through a low-level
    client; the same items as `DynamoDBAuditLog.record` (dynamodb.py, the admin's reader and writer)."""

    def __init__(self, client: Any, table_name: str, retention_days: int = 400) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_days = retention_days

    def record(self, record: AuditRecord) -> None:
        try:
            self.client.put_item(TableName=self.table_name, Item=to_item(audit_item(record, self.retention_days)))
        except (ClientError, BotoCoreError) as exc:
            raise AuditUnavailable(f"audit write failed: {exc}") from exc
