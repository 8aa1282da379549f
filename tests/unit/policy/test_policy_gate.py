"""PolicyGate: registry read (cached ≤ 60 s), decision, audit record + log + metric; fails closed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from facepolicy import (
    AuditUnavailable,
    CachedRegistry,
    Customer,
    InMemoryAuditLog,
    InMemoryRegistry,
    PolicyDenied,
    PolicyGate,
    ReasonCode,
    RegistryUnavailable,
    load_policy,
)
from tests.support.fakes import FakeClock, RecordingMetrics


class BrokenRegistry:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_customer(self, customer_id: str) -> Customer | None:
        raise self.error

    def customer_for_key(self, key_hash: str) -> str | None:
        raise self.error


class BrokenAudit(InMemoryAuditLog):
    def record(self, record: object) -> None:  # type: ignore[override]
        raise AuditUnavailable("audit table gone")


def test_an_allow_is_audited_without_a_metric(gate: PolicyGate, audit: InMemoryAuditLog,
                                              metrics: RecordingMetrics) -> None:
    decision = gate.check("shop", "search", request_id="r1", source="http POST /collections/{id}/search")
    assert decision.allowed
    (record,) = audit.records
    assert (record.customer_id, record.operation, record.allowed, record.request_id) == ("shop", "search", True, "r1")
    assert record.at == "2026-11-26T12:00:00.000Z"
    assert metrics.added == []


def test_a_deny_is_audited_logged_and_counted_by_reason(gate: PolicyGate, audit: InMemoryAuditLog,
                                                        metrics: RecordingMetrics,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    decision = gate.check("pd", "search", request_id="r2", source="test")
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.SECTOR_DISALLOWED)
    (record,) = audit.records
    assert (record.allowed, record.reason_code, record.rule_id) == (False, "SECTOR_DISALLOWED",
                                                                     "law-enforcement-identification")
    assert metrics.added == [("PolicyDenied_SECTOR_DISALLOWED", 1)]
    (line,) = [r for r in caplog.records if r.getMessage() == "policy decision"]
    assert (line.levelname, line.customer_id, line.reason_code, line.request_id) == (  # type: ignore[attr-defined]
        "WARNING", "pd", "SECTOR_DISALLOWED", "r2")


def test_an_unknown_or_missing_customer_is_denied_and_audited(gate: PolicyGate, audit: InMemoryAuditLog,
                                                              metrics: RecordingMetrics) -> None:
    assert gate.check("ghost", "detect", request_id="r3", source="t").reason_code == ReasonCode.CUSTOMER_UNKNOWN
    assert gate.check("", "detect", request_id="r4", source="t").reason_code == ReasonCode.CUSTOMER_UNKNOWN
    assert [r.customer_id for r in audit.records] == ["ghost", "anonymous"]
    assert metrics.added == [("PolicyDenied_CUSTOMER_UNKNOWN", 1)] * 2


@pytest.mark.parametrize("error", [RegistryUnavailable("table missing"), RuntimeError("client bug")])
def test_a_registry_outage_fails_closed(error: Exception, audit: InMemoryAuditLog, clock: FakeClock,
                                        metrics: RecordingMetrics) -> None:
    gate = PolicyGate(BrokenRegistry(error), audit, load_policy(), clock=clock, metrics=metrics)
    decision = gate.check("shop", "detect", request_id="r5", source="t")
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.POLICY_UNAVAILABLE)
    assert audit.records[0].reason_code == ReasonCode.POLICY_UNAVAILABLE
    assert metrics.added == [("PolicyDenied_POLICY_UNAVAILABLE", 1)]


def test_no_unaudited_work_when_the_audit_log_is_down(registry: InMemoryRegistry, clock: FakeClock) -> None:
    gate = PolicyGate(registry, BrokenAudit(), load_policy(), clock=clock)
    decision = gate.check("shop", "search", request_id="r6", source="t")
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.POLICY_UNAVAILABLE)


def test_enforce_raises_policy_denied_with_the_decision(gate: PolicyGate) -> None:
    assert gate.enforce("shop", "index", request_id="r7", source="t").allowed
    with pytest.raises(PolicyDenied) as caught:
        gate.enforce("pd", "index", request_id="r8", source="t")
    assert caught.value.decision.rule_id == "law-enforcement-identification"


def test_a_suspension_takes_effect_when_the_cache_expires(gate: PolicyGate, registry: InMemoryRegistry,
                                                          clock: FakeClock) -> None:
    # Given a container that has just admitted the retailer
    assert gate.check("shop", "search", request_id="a", source="t").allowed
    # When the retailer is suspended in the registry
    registry.customers["shop"] = replace(registry.customers["shop"], status="suspended")
    # Then the cached view may admit it for up to 60 s, and never after
    clock.advance(59.9)
    assert gate.check("shop", "search", request_id="b", source="t").allowed
    clock.advance(0.1)
    decision = gate.check("shop", "search", request_id="c", source="t")
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.CUSTOMER_NOT_ACTIVE)


def test_the_cache_saves_reads_and_never_caches_errors(clock: FakeClock) -> None:
    inner = InMemoryRegistry({"shop": Customer("shop", "Shop", "retail")})
    cached = CachedRegistry(inner, ttl_seconds=60, clock=clock)
    for _ in range(5):
        cached.get_customer("shop")
    assert inner.reads == 1
    flaky = BrokenRegistry(RegistryUnavailable("blip"))
    cached_flaky = CachedRegistry(flaky, ttl_seconds=60, clock=clock)
    with pytest.raises(RegistryUnavailable):
        cached_flaky.get_customer("shop")
    flaky.error = RegistryUnavailable("still down")
    with pytest.raises(RegistryUnavailable, match="still down"):
        cached_flaky.get_customer("shop")


@pytest.mark.parametrize("ttl", [-1, 60.5, 3600])
def test_the_cache_time_is_bounded_to_sixty_seconds(ttl: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.60"):
        CachedRegistry(InMemoryRegistry(), ttl_seconds=ttl)


def test_the_cache_is_bounded_in_size(clock: FakeClock) -> None:
    inner = InMemoryRegistry()
    cached = CachedRegistry(inner, ttl_seconds=60, clock=clock, max_entries=3)
    for i in range(10):
        cached.customer_for_key(f"h{i}")
    cached.customer_for_key("h0")
    assert inner.reads == 11


def test_begin_answers_an_allow_at_once_and_settles_once_its_record_is_stored(gate: PolicyGate,
                                                                             audit: InMemoryAuditLog) -> None:
    pending = gate.begin("shop", "search", request_id="r-begin", source="test")
    assert pending.provisional.allowed
    final = pending.settle()
    assert final.allowed and final is pending.settle()
    assert [(r.request_id, r.allowed) for r in audit.records] == [("r-begin", True)]


def test_begin_audits_a_deny_before_it_returns(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    pending = gate.begin("pd", "search", request_id="r-deny", source="test")
    assert [(r.request_id, r.allowed) for r in audit.records] == [("r-deny", False)]  # before any settle
    assert pending.provisional.reason_code == ReasonCode.SECTOR_DISALLOWED == pending.settle().reason_code


def test_begin_settles_an_allow_whose_record_cannot_be_stored_as_policy_unavailable(
        registry: InMemoryRegistry) -> None:
    gate = PolicyGate(registry, BrokenAudit(), load_policy())
    pending = gate.begin("shop", "search", request_id="r", source="test")
    assert pending.provisional.allowed  # provisional only: never acted on
    assert pending.settle().reason_code == ReasonCode.POLICY_UNAVAILABLE
