"""In-memory fakes and a controllable clock for the policy layer's unit tests."""

from __future__ import annotations

from typing import Any

import pytest

from facepolicy import CachedRegistry, Customer, InMemoryAuditLog, InMemoryRegistry, PolicyGate, load_policy


class FakeClock:
    def __init__(self, start: float = 1_795_694_400.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None:
        self.added.append((name, value))


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
