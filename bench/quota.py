"""The rate limiter's hot-path cost: counter writes per request and time per admission.

Four containers (RateLimiter instances) share QuotaCountersTable on moto and serve one customer as fast
as they can within one (fake) second, for several limits. Prints figures; asserts nothing. The time
per call is moto's (in-process), not DynamoDB's: what transfers is the number of counter writes.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from moto import mock_aws

from facepolicy.quota import QuotaDefaults, Quotas, RateLimiter
from facepolicy.quota_dynamodb import DynamoDBCounterStore
from facesearch.local.template import create_table, load_template

TABLE = "bench-quota"


class CountingClient:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.updates = 0

    def update_item(self, **kwargs: Any) -> Any:
        self.updates += 1
        return self.client.update_item(**kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        return self.client.get_item(**kwargs)


def _one_second(limit: int, requests: int, containers: int = 4) -> tuple[int, int, float]:
    client = CountingClient(boto3.client("dynamodb", region_name="us-east-1"))
    clock_value = [1_900_000_000.0 + limit]
    limiters = [RateLimiter(DynamoDBCounterStore(client, TABLE), clock=lambda: clock_value[0])
                for _ in range(containers)]
    quotas = Quotas.effective(QuotaDefaults(requests_per_second=limit), None)
    admitted = 0
    started = time.perf_counter()
    for i in range(requests):
        admitted += limiters[i % containers].admit("bench", "search", quotas).allowed
    elapsed = time.perf_counter() - started
    return admitted, client.updates, elapsed / requests * 1e6


def run() -> None:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), load_template(), "QuotaCountersTable", TABLE)
        print("quota: 4 containers, one customer, one second; moto DynamoDB (noisy shared machine)")
        for limit, requests in ((5, 50), (20, 60), (100, 200), (1000, 1500)):
            admitted, writes, us = _one_second(limit, requests)
            print(f"quota: limit {limit:5d}/s, {requests:5d} requests: admitted {admitted:5d}, "
                  f"counter writes {writes:4d} ({writes / max(admitted, 1):.2f} per admitted request), "
                  f"{us:7.1f} µs per call (admitted or throttled)")


if __name__ == "__main__":
    run()
