"""Fixtures of the client tests: the fault-injecting server, a fake clock, clients wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from facesearch.client import Client
from facesearch.transport import RetrySettings, Transport

from .faultserver import FaultServer, running


class SleepRecorder:
    """A fake clock for the retries: sleeping only advances it (and is recorded), so tests never wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with running() as srv:
        yield srv


@pytest.fixture
def clock() -> SleepRecorder:
    return SleepRecorder()


ClientFactory = Callable[..., Client]


@pytest.fixture
def make_client(server: FaultServer, clock: SleepRecorder) -> ClientFactory:
    """Given a client of the fault server on the fake clock; jitter draws 1.0 unless `rng` says otherwise."""

    def make(rng: Callable[[], float] = lambda: 1.0, endpoint: str | None = None, **settings: object) -> Client:
        retry = RetrySettings(**{"read_timeout": 5.0, "connect_timeout": 2.0, **settings})  # type: ignore[arg-type]
        return Client(endpoint or server.url, api_key="fs_test",
                      transport=Transport(retry, clock=clock, rng=rng))

    return make
