"""In-memory fakes and a controllable clock for the policy layer's unit tests."""

from __future__ import annotations

import pytest

from facepolicy import CachedRegistry, Customer, InMemoryAuditLog, InMemoryRegistry, PolicyGate, load_policy
from tests.support.fakes import FakeClock, RecordingMetrics


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry() -> InMemoryRegistry:
    reg = InMemoryRegistry()
    reg.add(Customer("shop", "Shop", "retail", jurisdiction="DE"), secret="fsk_shop")
    reg.add(Customer("pd", "Metro PD", "law_enforcement", jurisdiction="US-CA"), secret="fsk_pd")
    return reg


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def gate(registry: InMemoryRegistry, audit: InMemoryAuditLog, clock: FakeClock,
         metrics: RecordingMetrics) -> PolicyGate:
    return PolicyGate(CachedRegistry(registry, ttl_seconds=60, clock=clock), audit, load_policy(), clock=clock,
                      metrics=metrics)
