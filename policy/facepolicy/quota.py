"""Per-customer quotas: what they are, how overrides merge with defaults, and the rate limiter.

Quotas live in the registry (the customer's `quotas` overrides) with defaults from the template
(QUOTA_* variables). They apply *after* the policy decision: a refused customer gets its audited 403,
never a 429. Operation `delete` is never limited: erasure may be paced, never refused.

    requests_per_second       the customer as a whole, every operation but delete
    <operation>               optional per-operation rate (detect, compare, index, search, users, manage)
    max_collections           collections a customer may hold (checked on create)
    max_faces_per_collection  faces a collection may hold (checked by the indexer: REJECTED_QUOTA)

The rate limiter counts fixed one-second windows in a shared store (DynamoDB in production), so the
limit holds across containers. To keep the hot path cheap a container *leases* tokens: the first
request of a window takes one, a container that needs more doubles its lease (up to a tenth of the
limit), and requests served from a lease cost no I/O. A window's counter never passes the limit, so
nothing overshoots; tokens leased and unused at the end of a window are lost, which can only make
another container answer 429 early (at most `lease - 1` tokens per busy container per window).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from facepolicy.errors import InvalidCustomer
from facepolicy.model import OPERATIONS

logger = Logger(child=True)  # a library module: logs through the function's service logger, no handler of its own

REQUESTS_PER_SECOND = "requests_per_second"
MAX_COLLECTIONS = "max_collections"
MAX_FACES_PER_COLLECTION = "max_faces_per_collection"
UNLIMITED_OPERATIONS = frozenset({"delete"})  # erasure is never refused for quota
RATE_OPERATIONS = tuple(op for op in OPERATIONS if op not in UNLIMITED_OPERATIONS)
QUOTA_NAMES = (REQUESTS_PER_SECOND, *RATE_OPERATIONS, MAX_COLLECTIONS, MAX_FACES_PER_COLLECTION)
MAX_RATE = 100_000
MAX_COUNT = 1_000_000_000
ALL = "all"  # the scope of the customer-wide rate

THROTTLED = "THROTTLED"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
REJECTED_QUOTA = "REJECTED_QUOTA"


class QuotaUnavailable(Exception):
    """The counter store could not be reached (the limiter then admits: quotas fail open)."""


# ---------------------------------------------------------------- names and values
def check_quota_value(name: str, value: Any) -> int | None:
    """A validated override: an int (rates ≥ 1, counts ≥ 0), or None to fall back to the default."""
    if name not in QUOTA_NAMES:
        raise InvalidCustomer(f"unknown quota {name!r}; known: {', '.join(QUOTA_NAMES)}")
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "default")):
        return None
    if isinstance(value, bool):
        raise InvalidCustomer(f"quota {name} must be a whole number")
    try:
        number = int(value) if isinstance(value, int | str) else int(float(value))
        if isinstance(value, float) and value != number:
            raise ValueError(value)
    except (TypeError, ValueError) as exc:
        raise InvalidCustomer(f"quota {name} must be a whole number or 'default'") from exc
    low, high = (1, MAX_RATE) if name not in (MAX_COLLECTIONS, MAX_FACES_PER_COLLECTION) else (0, MAX_COUNT)
    if not low <= number <= high:
        raise InvalidCustomer(f"quota {name} must be within {low}..{high}")
    return number


def merge_overrides(current: Mapping[str, int], changes: Mapping[str, Any]) -> dict[str, int]:
    """The customer's overrides after `changes` (a None or 'default' value removes an override)."""
    merged = dict(current)
    for name, value in changes.items():
        checked = check_quota_value(str(name), value)
        if checked is None:
            merged.pop(str(name), None)
        else:
            merged[str(name)] = checked
    return merged


def parse_assignments(items: list[str]) -> dict[str, int | None]:
    """`NAME=VALUE` strings (the CLI's --quota) to a change map; VALUE 'default' clears an override."""
    changes: dict[str, int | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidCustomer(f"--quota wants NAME=VALUE, got {item!r}")
        changes[name.strip()] = check_quota_value(name.strip(), value.strip())
    return changes


# ---------------------------------------------------------------- effective quotas
@dataclass(frozen=True)
class QuotaDefaults:
    """The deployment's defaults (template parameters); None = unlimited."""

    requests_per_second: int | None = 20
    max_collections: int | None = 100
    max_faces_per_collection: int | None = 20_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> QuotaDefaults:
        """QUOTA_REQUESTS_PER_SECOND, QUOTA_MAX_COLLECTIONS, QUOTA_MAX_FACES_PER_COLLECTION; 0 = unlimited."""
        def read(name: str, default: int | None) -> int | None:
            raw = environ.get(name, "")
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                logger.warning("quota default ignored: not a whole number", variable=name)
                return default
            return value if value > 0 else None

        base = cls()
        return cls(read("QUOTA_REQUESTS_PER_SECOND", base.requests_per_second),
                   read("QUOTA_MAX_COLLECTIONS", base.max_collections),
                   read("QUOTA_MAX_FACES_PER_COLLECTION", base.max_faces_per_collection))


@dataclass(frozen=True)
class Quotas:
    """A customer's effective quotas: its overrides over the defaults."""

    requests_per_second: int | None
    max_collections: int | None
    max_faces_per_collection: int | None
    per_operation: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def effective(cls, defaults: QuotaDefaults, overrides: Mapping[str, int] | None) -> Quotas:
        own = dict(overrides or {})
        return cls(
            requests_per_second=own.get(REQUESTS_PER_SECOND, defaults.requests_per_second),
            max_collections=own.get(MAX_COLLECTIONS, defaults.max_collections),
            max_faces_per_collection=own.get(MAX_FACES_PER_COLLECTION, defaults.max_faces_per_collection),
            per_operation={op: int(own[op]) for op in RATE_OPERATIONS if op in own},
        )

    def rates_for(self, operation: str) -> list[tuple[str, int]]:
        """(scope, requests per second) that apply to `operation`, narrowest first; none for delete."""
        if operation in UNLIMITED_OPERATIONS:
            return []
        rates = [(operation, self.per_operation[operation])] if operation in self.per_operation else []
        if self.requests_per_second is not None:
            rates.append((ALL, self.requests_per_second))
        return rates

    def view(self) -> dict[str, Any]:
        """As shown by the admin API (None = unlimited)."""
        return {REQUESTS_PER_SECOND: self.requests_per_second, **dict(sorted(self.per_operation.items())),
                MAX_COLLECTIONS: self.max_collections, MAX_FACES_PER_COLLECTION: self.max_faces_per_collection}


# ---------------------------------------------------------------- the rate limiter
class CounterStore(Protocol):
    """Shared per-window counters (DynamoDB: facepolicy.quota_dynamodb)."""

    def take(self, key: str, want: int, limit: int, expires_at: int) -> int:
        """Atomically add up to `want` to counter `key` without passing `limit`; returns how many were
        added (0 when the counter is already at the limit). Raises QuotaUnavailable."""
        ...


class InMemoryCounterStore:
    """The fake for unit tests (one process), with the adapter's semantics."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def take(self, key: str, want: int, limit: int, expires_at: int) -> int:
        with self._lock:
            self.calls += 1
            used = self.counts.get(key, 0)
            granted = max(0, min(want, limit - used))
            self.counts[key] = used + granted
            return granted


@dataclass(frozen=True)
class Admission:
    """The limiter's answer: allowed, or throttled in `scope` with a Retry-After in whole seconds."""

    allowed: bool
    scope: str = ""
    limit: int = 0
    retry_after: int = 0


ADMITTED = Admission(True)


@dataclass
class _Lease:
    window: int
    left: int
    size: int
    exhausted: bool  # the window's counter reached the limit: no more tokens this window, for anyone


class RateLimiter:
    """Fixed one-second windows in a shared CounterStore, with per-container token leases (see module doc)."""

    def __init__(self, store: CounterStore, clock: Callable[[], float] = time.time,
                 max_lease_fraction: float = 0.1) -> None:
        self.store = store
        self.clock = clock
        self.max_lease_fraction = max_lease_fraction
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._lock = threading.Lock()

    def admit(self, customer_id: str, operation: str, quotas: Quotas) -> Admission:
        """Take one token from every rate that applies (narrowest first); the first exhausted one throttles."""
        for scope, limit in quotas.rates_for(operation):
            if not self._take(customer_id, scope, limit):
                now = self.clock()
                return Admission(False, scope, limit, retry_after=max(1, math.ceil(math.floor(now) + 1 - now)))
        return ADMITTED

    def _take(self, customer_id: str, scope: str, limit: int) -> bool:
        window = int(self.clock())
        with self._lock:  # one container serves one request at a time anyway; keeps leases consistent
            lease = self._leases.get((customer_id, scope))
            if lease is not None and lease.window == window:
                if lease.left > 0:
                    lease.left -= 1
                    return True
                if lease.exhausted:  # counters only grow within a window: no need to ask again
                    return False
            cap = max(1, int(limit * self.max_lease_fraction))
            size = min(cap, lease.size * 2) if lease is not None and lease.window == window else 1
            try:
                granted = self.store.take(f"{customer_id}#{scope}#{window}", size, limit, expires_at=window + 120)
            except QuotaUnavailable as exc:  # fairness, not safety: a counter outage must not stop the service
                logger.warning("quota counters unavailable; admitting", customer_id=customer_id, scope=scope,
                               error=str(exc))
                return True
            self._leases[(customer_id, scope)] = _Lease(window, max(0, granted - 1), size, granted < size)
            if len(self._leases) > 10_000:  # old windows of idle customers
                self._leases = {k: v for k, v in self._leases.items() if v.window == window}
            return granted > 0


# ---------------------------------------------------------------- enforcement
class QuotaExceeded(Exception):
    """A count quota would be passed (collections on create; faces in the indexer)."""

    def __init__(self, quota: str, limit: int, message: str) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.message = message


class _Registry(Protocol):
    def get_customer(self, customer_id: str) -> Any: ...


class _Metrics(Protocol):
    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None: ...


class QuotaEnforcer:
    """A customer's quotas, applied after the policy allowed it: rates per request, counts on growth.

    Reads the customer through the (cached) registry the gate already uses, so checking costs no extra
    registry read; `limiter=None` leaves rates unenforced (no counters table configured).
    """

    def __init__(self, registry: _Registry, defaults: QuotaDefaults, limiter: RateLimiter | None = None,
                 metrics: _Metrics | None = None) -> None:
        self.registry = registry
        self.defaults = defaults
        self.limiter = limiter
        self.metrics = metrics

    def quotas(self, customer_id: str) -> Quotas:
        customer = self.registry.get_customer(customer_id) if customer_id else None
        return Quotas.effective(self.defaults, getattr(customer, "quotas", None))

    def admit(self, customer_id: str, operation: str, *, request_id: str = "") -> Admission:
        """One request of `operation`: ADMITTED, or throttled (logged and counted, nothing else done)."""
        if self.limiter is None or operation in UNLIMITED_OPERATIONS:
            return ADMITTED
        admission = self.limiter.admit(customer_id, operation, self.quotas(customer_id))
        if not admission.allowed:
            logger.warning("quota: throttled", customer_id=customer_id, operation=operation, scope=admission.scope,
                           limit=admission.limit, request_id=request_id)
            self._count("QuotaThrottled", f"QuotaThrottled_{operation}")
        return admission

    def check_collections(self, customer_id: str, count_up_to: Callable[[int], int]) -> None:
        """Raise QuotaExceeded if the customer already holds max_collections; `count_up_to(n)` counts its
        collections, stopping at n."""
        limit = self.quotas(customer_id).max_collections
        if limit is None:
            return
        if count_up_to(limit) >= limit:
            self._count("QuotaCollectionsExceeded")
            logger.warning("quota: collection limit", customer_id=customer_id, limit=limit)
            raise QuotaExceeded(MAX_COLLECTIONS, limit,
                                f"the customer already holds its {limit} collections (quota max_collections)")

    def check_faces(self, customer_id: str, collection_id: str, current: int, adding: int) -> None:
        """Raise QuotaExceeded if `adding` faces to a collection holding `current` would pass the quota."""
        limit = self.quotas(customer_id).max_faces_per_collection
        if limit is None or adding <= 0 or current + adding <= limit:
            return
        self._count("QuotaFacesRejected")
        logger.warning("quota: face limit", customer_id=customer_id, collection_id=collection_id, limit=limit,
                       current=current, adding=adding)
        raise QuotaExceeded(MAX_FACES_PER_COLLECTION, limit,
                            f"the collection holds {current} faces; {adding} more would pass its quota of {limit}")

    def _count(self, *names: str) -> None:
        if self.metrics is None:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        for name in names:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def throttled_body(admission: Admission) -> dict[str, Any]:
    """The 429 body: code THROTTLED, which rate, and when to retry (also in Retry-After)."""
    which = "requests_per_second" if admission.scope == ALL else f"{admission.scope} rate"
    return {"code": THROTTLED, "message": f"over the {which} quota ({admission.limit}/s); retry after "
            f"{admission.retry_after} s", "quota": REQUESTS_PER_SECOND if admission.scope == ALL else admission.scope,
            "limit": admission.limit, "retry_after": admission.retry_after}
