"""QuotaEnforcer: a customer's overrides over the defaults, rates per request, counts on growth, metrics."""

from __future__ import annotations

import pytest

from facepolicy import Customer, InMemoryRegistry
from facepolicy.quota import (
    InMemoryCounterStore,
    QuotaDefaults,
    QuotaEnforcer,
    QuotaExceeded,
    RateLimiter,
    throttled_body,
)
from tests.support.fakes import FakeClock, RecordingMetrics

DEFAULTS = QuotaDefaults(requests_per_second=3, max_collections=2, max_faces_per_collection=10)


@pytest.fixture
def registry() -> InMemoryRegistry:
    return InMemoryRegistry({
        "plain": Customer("plain", "Plain", "media"),
        "vip": Customer("vip", "VIP", "media", quotas={"requests_per_second": 100, "max_collections": 50,
                                                        "search": 1}),
    })


def _enforcer(registry: InMemoryRegistry, metrics: RecordingMetrics | None = None) -> QuotaEnforcer:
    return QuotaEnforcer(registry, DEFAULTS, RateLimiter(InMemoryCounterStore(), clock=FakeClock(10.0)),
                         metrics=metrics)


def test_rates_follow_each_customers_quotas_and_throttles_are_counted(registry: InMemoryRegistry) -> None:
    metrics = RecordingMetrics()
    quota = _enforcer(registry, metrics)
    assert [quota.admit("plain", "detect").allowed for _ in range(4)] == [True, True, True, False]
    assert [quota.admit("vip", "search").allowed for _ in range(2)] == [True, False]
    assert all(quota.admit("vip", "detect").allowed for _ in range(20))
    assert [n for n, _ in metrics.added] == ["QuotaThrottled", "QuotaThrottled_detect",
                                             "QuotaThrottled", "QuotaThrottled_search"]


def test_the_429_body_says_which_quota_and_when_to_retry(registry: InMemoryRegistry) -> None:
    quota = _enforcer(registry)
    quota.admit("vip", "search")
    body = throttled_body(quota.admit("vip", "search"))
    assert body["code"] == "THROTTLED" and body["quota"] == "search" and body["limit"] == 1
    assert body["retry_after"] == 1 and "search" in body["message"]


def test_delete_and_an_unconfigured_limiter_never_throttle(registry: InMemoryRegistry) -> None:
    quota = _enforcer(registry)
    assert all(quota.admit("plain", "delete").allowed for _ in range(10))
    no_counters = QuotaEnforcer(registry, DEFAULTS, limiter=None)
    assert all(no_counters.admit("plain", "search").allowed for _ in range(10))


def test_collections_stop_at_the_quota(registry: InMemoryRegistry) -> None:
    metrics = RecordingMetrics()
    quota = _enforcer(registry, metrics)
    asked: list[int] = []

    def count_up_to(n: int) -> int:
        asked.append(n)
        return 2

    with pytest.raises(QuotaExceeded) as exc:
        quota.check_collections("plain", count_up_to)
    assert (exc.value.quota, exc.value.limit, asked) == ("max_collections", 2, [2])
    quota.check_collections("vip", lambda n: 2)  # its own quota is 50
    assert ("QuotaCollectionsExceeded", 1) in metrics.added


def test_faces_stop_before_the_collection_would_pass_its_quota(registry: InMemoryRegistry) -> None:
    quota = _enforcer(registry)
    quota.check_faces("plain", "col", current=7, adding=3)  # exactly at the quota is fine
    quota.check_faces("plain", "col", current=10, adding=0)
    with pytest.raises(QuotaExceeded, match="10 faces; 1 more"):
        quota.check_faces("plain", "col", current=10, adding=1)
