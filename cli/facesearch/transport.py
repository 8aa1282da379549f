"""HTTP for the client: urllib3 with its `Retry`, bounded in attempts and in total time, on an injectable clock.

What is retried (the rest never is):
- requests safe to repeat (GET, DELETE, PUT, and POSTs the caller marks safe: searches, compare, detect, an
  upload ticket for a content-named image): on connection errors, a dropped or timed-out answer, and
  429, 502, 503, 504;
- every other request only when the service certainly did not act on it: the connection could not be
  made, or 429 (throttled before any work).
Waits: the `Retry-After` the service advertised (429, 503), else exponential backoff with full jitter
(`random() * min(backoff_max, backoff_base * 2**(n-1))`, as boto3's standard mode). A request stops
retrying after `max_attempts`, or when the next wait would end past `max_retry_seconds` from its start;
then the last answer (or error) is what the caller gets, with the advertised wait.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.exceptions import NameResolutionError as Urllib3NameResolutionError
from urllib3.util.retry import Retry

from facesearch.errors import (
    ConfigError,
    EndpointUnreachableError,
    NameResolutionError,
    RequestTimeoutError,
    TlsError,
    TransportError,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
NOT_ACTED_ON_STATUSES = frozenset({429})  # the only answers after which any request may be repeated


class Clock(Protocol):
    """Time as the retries see it (tests pass a fake one)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class RetrySettings:
    """How hard the client tries. Environment: FACESEARCH_MAX_ATTEMPTS, FACESEARCH_MAX_RETRY_SECONDS,
    FACESEARCH_TIMEOUT (seconds to wait for an answer)."""

    max_attempts: int = 5
    max_retry_seconds: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("max attempts must be at least 1")
        if self.max_retry_seconds < 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigError("retry time and timeouts must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> RetrySettings:
        """Defaults, then the environment, then the non-None `overrides` (e.g. from command-line options)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field, kind in (("FACESEARCH_MAX_ATTEMPTS", "max_attempts", int),
                                  ("FACESEARCH_MAX_RETRY_SECONDS", "max_retry_seconds", float),
                                  ("FACESEARCH_TIMEOUT", "read_timeout", float)):
            text = env.get(name, "").strip()
            if text:
                try:
                    values[field] = kind(text)
                except ValueError:
                    raise ConfigError(f"{name}={text!r} is not a number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


RetryListener = Callable[[str, str, int, float, str], None]  # method, url, attempt that failed, wait, cause


class RetryPolicy(Retry):
    """urllib3's Retry with a total-time bound, full-jitter backoff and an injectable clock and random source."""

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})  # never 413: a too-large request stays too large

    def __init__(self, *args: Any, clock: Clock | None = None, deadline: float = float("inf"),
                 backoff_base: float = 0.5, rng: Callable[[], float] = random.random,
                 listener: RetryListener | None = None, planned_wait: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock: Clock = clock or SystemClock()
        self.deadline = deadline
        self.backoff_base = backoff_base
        self.rng = rng
        self.listener = listener
        self.planned_wait = planned_wait

    def new(self, **kw: Any) -> RetryPolicy:
        kw = {"clock": self.clock, "deadline": self.deadline, "backoff_base": self.backoff_base, "rng": self.rng,
              "listener": self.listener, **kw}
        fresh: RetryPolicy = super().new(**kw)
        return fresh

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Only the listed statuses: urllib3 would also retry any 413/429/503 that carries Retry-After,
        which would repeat a request that is not safe to repeat after a 503."""
        return status_code in self.status_forcelist and self._is_method_retryable(method)

    def get_backoff_time(self) -> float:
        """Full jitter: a uniform draw below min(backoff_max, base * 2**(failures - 1))."""
        failures = max(1, len(self.history))
        return float(self.rng() * min(self.backoff_max, self.backoff_base * 2 ** (failures - 1)))

    def wait_for(self, response: Any | None) -> float:
        """The advertised Retry-After of a 429/503, else the backoff."""
        if response is not None and self.respect_retry_after_header \
                and response.status in self.RETRY_AFTER_STATUS_CODES:
            advertised = self.get_retry_after(response)
            if advertised is not None:
                return float(advertised)
        return self.get_backoff_time()

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> RetryPolicy:
        fresh: RetryPolicy = super().increment(method, url, response, error, _pool, _stacktrace)
        wait = fresh.wait_for(response)
        if self.clock.monotonic() + wait > self.deadline:
            cause = f"the next attempt ({wait:.1f}s away) would end past the retry time limit"
            log.info("not retrying: %s", cause)
            raise MaxRetryError(_pool, url or "", error or ResponseError(cause))
        fresh.planned_wait = wait
        attempt = len(fresh.history)
        cause = f"HTTP {response.status}" if response is not None else type(error).__name__
        log.info("retrying %s %s in %.2fs (attempt %d failed: %s)", method, _path(url), wait, attempt, cause)
        if self.listener is not None:
            self.listener(method or "", url or "", attempt, wait, cause)
        return fresh

    def sleep(self, response: Any = None) -> None:
        if self.planned_wait > 0:
            self.clock.sleep(self.planned_wait)

    def sleep_for_retry(self, response: Any = None) -> bool:  # redirects are not followed; kept consistent
        self.sleep(response)
        return True


def _path(url: str | None) -> str:
    """The URL without its query (presigned URLs carry signatures there)."""
    return (url or "").split("?", 1)[0]


@dataclass
class Answer:
    """One HTTP answer: status, headers, body bytes."""

    status: int
    headers: Mapping[str, str]
    data: bytes
    reason: str = ""

    def retry_after(self) -> float | None:
        text = self.headers.get("Retry-After")
        if not text:
            return None
        try:
            return float(Retry().parse_retry_after(text))
        except (HTTPError, ValueError):
            return None


class Transport:
    """Sends requests with the retry policy; raises TransportError when no answer came."""

    def __init__(self, settings: RetrySettings | None = None, *, clock: Clock | None = None,
                 rng: Callable[[], float] = random.random, listener: RetryListener | None = None,
                 pool: urllib3.PoolManager | None = None) -> None:
        self.settings = settings or RetrySettings()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng
        self.listener = listener
        self.pool = pool or urllib3.PoolManager(num_pools=8, maxsize=8)

    def retry_policy(self, safe: bool) -> RetryPolicy:
        """The Retry of one request (its deadline counts from now)."""
        s = self.settings
        retries = s.max_attempts - 1
        return RetryPolicy(
            total=retries, connect=retries, read=retries if safe else 0, status=retries, other=0, redirect=0,
            allowed_methods=None, status_forcelist=RETRYABLE_STATUSES if safe else NOT_ACTED_ON_STATUSES,
            raise_on_status=False, raise_on_redirect=False, respect_retry_after_header=True,
            backoff_max=s.backoff_max, backoff_base=s.backoff_base, rng=self.rng, clock=self.clock,
            deadline=self.clock.monotonic() + s.max_retry_seconds, listener=self.listener)

    def send(self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
             safe: bool) -> Answer:
        """One request with its retries; the final answer, whatever its status."""
        timeout = urllib3.Timeout(connect=self.settings.connect_timeout, read=self.settings.read_timeout)
        try:
            response = self.pool.request(method, url, body=body, headers=dict(headers or {}),
                                         retries=self.retry_policy(safe), timeout=timeout, redirect=False)
        except MaxRetryError as exc:
            raise transport_error(exc.reason or exc, url) from None
        except LocationValueError as exc:
            raise ConfigError(f"the endpoint is not a valid URL: {exc}") from None
        except HTTPError as exc:
            raise transport_error(exc, url) from None
        return Answer(response.status, response.headers, response.data, response.reason or "")


def transport_error(exc: BaseException, url: str) -> TransportError:
    """The client's error for a urllib3 failure (no secrets: the URL's query is left out)."""
    where = _host(url)
    if isinstance(exc, Urllib3NameResolutionError):
        return NameResolutionError(f"cannot resolve the host of {where}: check FACESEARCH_ENDPOINT / --endpoint")
    if isinstance(exc, NewConnectionError):
        return EndpointUnreachableError(f"cannot connect to {where}: is the service running at that address?")
    if isinstance(exc, ConnectTimeoutError):
        return RequestTimeoutError(f"connecting to {where} timed out")
    if isinstance(exc, ReadTimeoutError):
        return RequestTimeoutError(f"{where} did not answer in time")
    if isinstance(exc, SSLError):
        return TlsError(f"TLS with {where} failed: {_short(exc)}")
    if isinstance(exc, ProtocolError):
        return EndpointUnreachableError(f"{where} closed the connection without an answer",
                                        code="CONNECTION_LOST")
    return TransportError(f"{where}: {_short(exc)}")


def _host(url: str) -> str:
    try:
        parsed = urllib3.util.parse_url(url)
    except LocationValueError:
        return "the endpoint"
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else "the endpoint"


def _short(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    return " ".join(text.split())[:200]
