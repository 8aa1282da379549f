"""face_api with quotas over moto: 429 THROTTLED after the policy, per customer; LIMIT_EXCEEDED; deletes."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from facepolicy.gate import PolicyGate
from facepolicy.quota import QuotaDefaults, QuotaEnforcer, RateLimiter
from facepolicy.quota_dynamodb import DynamoDBCounterStore
from tests.support.fakes import FakeClock, RecordingMetrics

from .faceapi_helpers import CUSTOMER, OTHER, POLICE, Api, FakeContext

_WINDOWS = itertools.count()  # each test counts in seconds of its own (the counters table is shared)


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def limited(api: Api, metrics: RecordingMetrics) -> Api:
    """The same function, its gate carrying quotas: 2 requests a second and 2 collections by default,
    counted in the template's QuotaCountersTable, all within one (fake) second."""
    gate = api.deps.gate
    counters = DynamoDBCounterStore(boto3.client("dynamodb"), api.provisioned.tables["QuotaCountersTable"])
    clock = FakeClock(1_900_000_000.0 + 10 * next(_WINDOWS))
    quota = QuotaEnforcer(gate.registry, QuotaDefaults(requests_per_second=2, max_collections=2),
                          RateLimiter(counters, clock=clock), metrics=metrics)
    api.use(replace(api.deps, gate=PolicyGate(gate.registry, gate.audit, gate.policy, metrics=metrics, quota=quota)))
    return api


def _list(api: Api, customer: str) -> tuple[int, Any, dict[str, str]]:
    response = api.module.lambda_handler(api.event("http_list_collections", customer=customer), FakeContext())
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


def test_over_its_rate_a_customer_gets_429_and_others_are_untouched(limited: Api,
                                                                    metrics: RecordingMetrics) -> None:
    answers = [_list(limited, CUSTOMER) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 429]
    _, body, headers = answers[-1]
    assert body["code"] == "THROTTLED" and body["quota"] == "requests_per_second" and body["limit"] == 2
    assert headers["Retry-After"] == "1"
    assert [_list(limited, OTHER)[0] for _ in range(2)] == [200, 200]  # its own two
    assert ("QuotaThrottled_manage", 1) in metrics.added


def test_a_refused_customer_gets_its_403_never_a_429(limited: Api) -> None:
    # the police department is refused search by the policy: over its rate or not, the answer is the 403
    answers = [limited.call("http_search_by_image", customer=POLICE, body={"image": {"bytes": "AA=="}})
               for _ in range(4)]
    assert {status for status, _ in answers} == {403}
    assert {body["code"] for _, body in answers} == {"SECTOR_DISALLOWED"}


def test_deletes_are_never_throttled(limited: Api) -> None:
    limited.create_collection("a")
    assert _list(limited, CUSTOMER)[0] == 200
    assert _list(limited, CUSTOMER)[0] == 429  # the rate is spent
    status, body = limited.call("http_delete_collection", path={"collection_id": "a"})
    assert status == 200 and body["collection_id"] == "a"


def test_a_collection_over_the_quota_is_limit_exceeded(api: Api, metrics: RecordingMetrics) -> None:
    gate = api.deps.gate
    quota = QuotaEnforcer(gate.registry, QuotaDefaults(requests_per_second=None, max_collections=2), metrics=metrics)
    api.use(replace(api.deps, gate=PolicyGate(gate.registry, gate.audit, gate.policy, quota=quota)))
    api.create_collection("one")
    api.create_collection("two")
    status, body = api.call("http_create_collection", body={"collection_id": "three"})
    assert status == 400 and body["code"] == "LIMIT_EXCEEDED"
    assert body["quota"] == "max_collections" and body["limit"] == 2
    assert api.store.get_collection(CUSTOMER, "three") is None
    assert api.call("http_create_collection", customer=OTHER, body={"collection_id": "three"})[0] == 201
