"""Test doubles shared by several suites: a controllable clock and a metrics recorder."""

from __future__ import annotations

from typing import Any


class FakeClock:
    """A controllable clock (epoch seconds) for cache expiry and audit times."""

    def __init__(self, start: float = 1_795_694_400.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingMetrics:
    """Stands in for Powertools Metrics: remembers each add_metric call."""

    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None:
        self.added.append((name, value))
