"""The rate limiter's counters on DynamoDB (QuotaCountersTable in template.yaml).

One item per customer, scope and one-second window: pk = `{customer_id}#{scope}#{epoch second}`,
`used` (N), `expires_at` (TTL, epoch s). A lease is one conditional UpdateItem:
ADD used :n IF used <= limit - n. When the window has less room than asked, the failed condition
returns the current count and the lease is retried once with what is left. botocore errors become
QuotaUnavailable here; nothing above this module sees them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facepolicy.quota import QuotaDefaults, QuotaEnforcer, QuotaUnavailable, RateLimiter

_ATTEMPTS = 3


class DynamoDBCounterStore:
    """CounterStore over a low-level DynamoDB client (`facepolicy.env.botocore_client("dynamodb")`)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def take(self, key: str, want: int, limit: int, expires_at: int) -> int:
        for _ in range(_ATTEMPTS):
            if want <= 0:
                return 0
            try:
                self.client.update_item(
                    TableName=self.table_name, Key={"pk": {"S": key}},
                    UpdateExpression="ADD used :n SET expires_at = if_not_exists(expires_at, :exp)",
                    ConditionExpression="attribute_not_exists(used) OR used <= :room",
                    ExpressionAttributeValues={":n": {"N": str(want)}, ":room": {"N": str(limit - want)},
                                               ":exp": {"N": str(expires_at)}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return want
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise QuotaUnavailable(f"quota counter update failed: {exc}") from exc
                used = self._used(exc, key)
                want = min(want, limit - used)
            except BotoCoreError as exc:
                raise QuotaUnavailable(f"quota counter update failed: {type(exc).__name__}") from exc
        return 0

    def _used(self, exc: ClientError, key: str) -> int:
        item = exc.response.get("Item")
        if item is None:  # older endpoints (and some emulators) do not return the item
            try:
                item = self.client.get_item(TableName=self.table_name, Key={"pk": {"S": key}},
                                            ConsistentRead=True).get("Item")
            except (ClientError, BotoCoreError) as read_exc:
                raise QuotaUnavailable(f"quota counter read failed: {read_exc}") from read_exc
        return int((item or {}).get("used", {}).get("N", "0"))


def enforcer_from_env(registry: Any, environ: Mapping[str, str] | None = None, *, metrics: Any = None,
                      client: Any = None) -> QuotaEnforcer:
    """Defaults from QUOTA_* variables; counters in QUOTA_TABLE (rates unenforced when it is unset)."""
    env = os.environ if environ is None else environ
    table = env.get("QUOTA_TABLE", "")
    limiter = None
    if table:
        from facepolicy.env import low_level_dynamodb

        limiter = RateLimiter(DynamoDBCounterStore(low_level_dynamodb(client), table))
    return QuotaEnforcer(registry, QuotaDefaults.from_env(env), limiter, metrics=metrics)
