"""Quotas end to end on the local stack: per-customer rates over HTTP, the collection limit, erasure."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from facesearch.client import ApiError, Client
from facesearch.local.process import RunningStack


def _customer(admin: Client, name: str, quotas: dict[str, Any]) -> str:
    created = admin.create_customer(name=name, sector="media", jurisdiction="DE", status="active")
    customer_id = created["customer"]["customer_id"]
    admin.update_customer(customer_id, {"quotas": quotas})
    return str(created["api_key"]["secret"])


def test_two_customers_hammering_at_once_see_only_their_own_429s(admin: Client, stack: RunningStack) -> None:
    # Given a customer held to 3 requests a second and another on the default (20)
    keys = {"noisy": _customer(admin, "Noisy", {"requests_per_second": 3}),
            "quiet": _customer(admin, "Quiet", {})}
    calls = [("noisy", i) for i in range(30)] + [("quiet", i) for i in range(10)]

    def call(job: tuple[str, int]) -> tuple[str, int, dict[str, Any], str | None]:
        who, _ = job
        response = requests.get(f"{stack.endpoint}/collections", headers={"x-api-key": keys[who]}, timeout=30)
        return who, response.status_code, response.json(), response.headers.get("Retry-After")

    # When both send their requests at once
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, calls))
    seconds = time.monotonic() - started
    # Then only the noisy one is throttled: 429 THROTTLED with a Retry-After, and served at most 3 a second
    noisy = [r for r in results if r[0] == "noisy"]
    quiet = [r for r in results if r[0] == "quiet"]
    assert [r[1] for r in quiet] == [200] * 10
    throttled = [r for r in noisy if r[1] == 429]
    served = [r for r in noisy if r[1] == 200]
    assert len(served) + len(throttled) == 30
    assert throttled and len(served) <= 3 * (int(seconds) + 2)
    assert all(body["code"] == "THROTTLED" and body["quota"] == "requests_per_second" and retry == "1"
               for _, _, body, retry in throttled)


def test_over_its_rate_a_customer_may_still_erase(admin: Client, stack: RunningStack) -> None:
    key = _customer(admin, "Eraser", {"requests_per_second": 1})
    admin.with_key(key).create_collection("gone-soon")  # (the client waits out a 429 by itself)
    headers = {"x-api-key": key}
    # Raw HTTP, no retries: within one second the second request is throttled...
    statuses = [requests.get(f"{stack.endpoint}/collections", headers=headers, timeout=30).status_code
                for _ in range(5)]
    assert 429 in statuses
    # ...and a delete still goes through, in the same breath
    response = requests.delete(f"{stack.endpoint}/collections/gone-soon", headers=headers, timeout=30)
    assert response.status_code == 200 and response.json()["collection_id"] == "gone-soon"


def test_a_collection_over_the_quota_is_limit_exceeded(admin: Client, stack: RunningStack) -> None:
    client = admin.with_key(_customer(admin, "Small", {"max_collections": 1, "requests_per_second": 1000}))
    client.create_collection("first")
    with pytest.raises(ApiError) as exc:
        client.create_collection("second")
    assert (exc.value.status, exc.value.code) == (400, "LIMIT_EXCEEDED")
    client.delete_collection("first")
    client.create_collection("second")  # room again after a delete
