"""Quotas: names and values, overrides over defaults, and the leased fixed-window rate limiter."""

from __future__ import annotations

import pytest

from facepolicy import InvalidCustomer
from facepolicy.quota import (
    ALL,
    InMemoryCounterStore,
    QuotaDefaults,
    Quotas,
    QuotaUnavailable,
    RateLimiter,
    check_quota_value,
    merge_overrides,
    parse_assignments,
)
from tests.support.fakes import FakeClock

DEFAULTS = QuotaDefaults(requests_per_second=20, max_collections=100, max_faces_per_collection=1000)


# ---------------------------------------------------------------- names and values
@pytest.mark.parametrize(("name", "value", "expected"), [
    ("requests_per_second", 5, 5), ("search", "2", 2), ("max_collections", 0, 0),
    ("max_faces_per_collection", "20000000", 20_000_000), ("index", 3.0, 3),
    ("search", "default", None), ("search", None, None), ("manage", "", None),
])
def test_quota_values_are_whole_numbers_or_default(name: str, value: object, expected: int | None) -> None:
    assert check_quota_value(name, value) == expected


@pytest.mark.parametrize(("name", "value"), [
    ("requests_per_second", 0), ("search", -1), ("search", "fast"), ("search", 2.5), ("search", True),
    ("max_collections", -1), ("delete", 5), ("bogus", 1), ("requests_per_second", 10**9),
    ("search", float("nan")), ("search", [1]),
])
def test_wrong_quota_names_and_values_are_refused_with_a_reason(name: str, value: object) -> None:
    with pytest.raises(InvalidCustomer):
        check_quota_value(name, value)


def test_delete_has_no_quota_name() -> None:
    # erasure is never refused for quota, so it cannot be given one
    with pytest.raises(InvalidCustomer, match="unknown quota 'delete'"):
        parse_assignments(["delete=1"])


def test_assignments_parse_and_merge_over_existing_overrides() -> None:
    changes = parse_assignments(["requests_per_second=5", "search = 2", "max_collections=default"])
    assert changes == {"requests_per_second": 5, "search": 2, "max_collections": None}
    merged = merge_overrides({"max_collections": 3, "detect": 9}, changes)
    assert merged == {"detect": 9, "requests_per_second": 5, "search": 2}


@pytest.mark.parametrize("item", ["search", "=3", "search:3"])
def test_malformed_assignments_are_refused(item: str) -> None:
    with pytest.raises(InvalidCustomer):
        parse_assignments([item])


def test_defaults_come_from_the_environment_with_zero_meaning_unlimited() -> None:
    env = {"QUOTA_REQUESTS_PER_SECOND": "7", "QUOTA_MAX_COLLECTIONS": "0", "QUOTA_MAX_FACES_PER_COLLECTION": "x"}
    defaults = QuotaDefaults.from_env(env)
    assert defaults == QuotaDefaults(requests_per_second=7, max_collections=None, max_faces_per_collection=20_000_000)
    assert QuotaDefaults.from_env({}) == QuotaDefaults()


def test_effective_quotas_are_overrides_over_defaults() -> None:
    quotas = Quotas.effective(DEFAULTS, {"requests_per_second": 5, "search": 2, "max_faces_per_collection": 10})
    assert quotas.view() == {"requests_per_second": 5, "search": 2, "max_collections": 100,
                             "max_faces_per_collection": 10}
    assert quotas.rates_for("search") == [("search", 2), (ALL, 5)]
    assert quotas.rates_for("detect") == [(ALL, 5)]
    assert quotas.rates_for("delete") == []


# ---------------------------------------------------------------- the limiter
def _limiter(clock: FakeClock, store: InMemoryCounterStore | None = None) -> RateLimiter:
    return RateLimiter(store or InMemoryCounterStore(), clock=clock)


def test_a_customer_gets_exactly_its_rate_per_window_then_429_with_retry_after() -> None:
    clock, quotas = FakeClock(1000.25), Quotas.effective(DEFAULTS, {"requests_per_second": 5})
    limiter = _limiter(clock)
    answers = [limiter.admit("c1", "detect", quotas) for _ in range(8)]
    assert [a.allowed for a in answers] == [True] * 5 + [False] * 3
    assert answers[-1].scope == ALL and answers[-1].limit == 5 and answers[-1].retry_after == 1
    # When the next second starts, the customer may go again
    clock.advance(1.0)
    assert limiter.admit("c1", "detect", quotas).allowed


def test_a_per_operation_rate_throttles_that_operation_only() -> None:
    clock = FakeClock(50.0)
    quotas = Quotas.effective(DEFAULTS, {"requests_per_second": 10, "search": 2})
    limiter = _limiter(clock)
    searches = [limiter.admit("c1", "search", quotas) for _ in range(3)]
    assert [a.allowed for a in searches] == [True, True, False] and searches[-1].scope == "search"
    assert limiter.admit("c1", "detect", quotas).allowed


def test_delete_is_never_throttled() -> None:
    clock, quotas = FakeClock(), Quotas.effective(DEFAULTS, {"requests_per_second": 1})
    limiter = _limiter(clock)
    assert limiter.admit("c1", "detect", quotas).allowed
    assert not limiter.admit("c1", "detect", quotas).allowed
    assert all(limiter.admit("c1", "delete", quotas).allowed for _ in range(50))


def test_customers_are_counted_apart() -> None:
    clock, quotas = FakeClock(), Quotas.effective(DEFAULTS, {"requests_per_second": 2})
    limiter = _limiter(clock)
    assert [limiter.admit("noisy", "detect", quotas).allowed for _ in range(4)] == [True, True, False, False]
    assert [limiter.admit("quiet", "detect", quotas).allowed for _ in range(2)] == [True, True]


def test_leases_cut_counter_writes_and_containers_never_pass_the_limit_together() -> None:
    # Given two containers sharing one counter store, and a customer allowed 100 requests a second
    clock, store = FakeClock(7.0), InMemoryCounterStore()
    quotas = Quotas.effective(DEFAULTS, {"requests_per_second": 100})
    a, b = _limiter(clock, store), _limiter(clock, store)
    # When both serve as many requests as they can within one second
    admitted = 0
    for _ in range(150):
        admitted += a.admit("c1", "search", quotas).allowed
        admitted += b.admit("c1", "search", quotas).allowed
    # Then together they admitted at most the limit, lost at most a lease each, and wrote far less than once a request
    assert 100 - 2 * 10 <= admitted <= 100
    assert store.calls < admitted / 2


def test_a_counter_outage_admits_rather_than_stopping_the_service() -> None:
    class Broken:
        def take(self, key: str, want: int, limit: int, expires_at: int) -> int:
            raise QuotaUnavailable("down")

    limiter = RateLimiter(Broken(), clock=FakeClock())
    assert limiter.admit("c1", "search", Quotas.effective(DEFAULTS, None)).allowed
