"""The rate limiter's DynamoDB counters on moto (QuotaCountersTable from template.yaml)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facepolicy.quota import QuotaDefaults, Quotas, RateLimiter
from facepolicy.quota_dynamodb import DynamoDBCounterStore
from facesearch.local.template import create_table, load_template
from tests.support.fakes import FakeClock

TABLE = "facesearch-test-quota"


class _Atomic:
    """DynamoDB applies a conditional write to an item atomically; moto does not under threads, so
    its calls are serialised here (each container itself stays unsynchronised)."""

    _lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return locked


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb, load_template(), "QuotaCountersTable", TABLE)
        yield ddb


def test_take_grants_what_is_left_and_never_passes_the_limit(client: Any) -> None:
    store = DynamoDBCounterStore(client, TABLE)
    assert store.take("c1#all#10", 4, 10, expires_at=130) == 4
    assert store.take("c1#all#10", 4, 10, expires_at=130) == 4
    assert store.take("c1#all#10", 4, 10, expires_at=130) == 2  # only two left
    assert store.take("c1#all#10", 1, 10, expires_at=130) == 0
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "c1#all#10"}})["Item"]
    assert item["used"] == {"N": "10"} and item["expires_at"] == {"N": "130"}  # TTL: the item goes by itself


def test_an_unreachable_table_is_reported_as_quota_unavailable(client: Any) -> None:
    from facepolicy.quota import QuotaUnavailable

    with pytest.raises(QuotaUnavailable):
        DynamoDBCounterStore(client, "no-such-table").take("k", 1, 5, expires_at=1)


def test_two_customers_hammering_at_once_see_only_their_own_429s(client: Any) -> None:
    # Given four containers sharing the counters, a customer allowed 10 requests a second sending six
    # times that, and another with the default 20 sending 15 (within its quota, less what leases can hold)
    clock = FakeClock(1_795_694_400.0)
    defaults = QuotaDefaults(requests_per_second=20)
    limits = {"noisy": Quotas.effective(defaults, {"requests_per_second": 10}),
              "steady": Quotas.effective(defaults, None)}
    containers = [RateLimiter(DynamoDBCounterStore(_Atomic(client), TABLE), clock=clock) for _ in range(4)]
    sent = {"noisy": 60, "steady": 15}
    jobs = [(c, i) for c, n in sent.items() for i in range(n)]

    def call(job: tuple[str, int]) -> tuple[str, bool, str]:
        customer, i = job
        answer = containers[i % len(containers)].admit(customer, "search", limits[customer])
        return customer, answer.allowed, answer.scope

    # When they all call at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, jobs))
    admitted = Counter(c for c, ok, _ in results if ok)
    throttled = Counter(c for c, ok, _ in results if not ok)
    # Then the noisy one is held to its 10 (less at most a lease lost per container) and gets the 429s,
    # while the steady one, within its own quota, sees none
    assert 10 - len(containers) <= admitted["noisy"] <= 10
    assert throttled["noisy"] == sent["noisy"] - admitted["noisy"]
    assert admitted["steady"] == sent["steady"] and throttled["steady"] == 0
