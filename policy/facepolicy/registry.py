"""The customer registry port: reads for the gate and the authorizer, writes for the admin path.

`InMemoryRegistry` is the fake for unit tests; `CachedRegistry` bounds how stale a container's view
may be (a suspension takes effect within the cache time); the DynamoDB adapter is in `dynamodb.py`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from facepolicy.errors import CustomerExists, CustomerNotFound, KeyNotFound, VersionConflict
from facepolicy.model import ApiKey, Customer, Page

KEY_PREFIX = "fsk_"
MAX_CACHE_SECONDS = 60.0


def new_api_key() -> str:
    """A new API key secret: `fsk_` + 256 random bits (URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(secret: str) -> str:
    """The stored form of a key: SHA-256 hex. Keys carry 256 random bits, so no salt or stretching."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_customer_id() -> str:
    return "cus_" + secrets.token_hex(8)


class CustomerRegistry(Protocol):
    """Reads every entry point needs."""

    def get_customer(self, customer_id: str) -> Customer | None: ...

    def customer_for_key(self, key_hash: str) -> str | None:
        """The customer id of an active key; None when the key is unknown or revoked."""
        ...


class RegistryStore(CustomerRegistry, Protocol):
    """Reads and writes of the admin path (validation and auditing live in `RegistryAdmin`)."""

    def put_customer(self, customer: Customer, first_key: ApiKey) -> None:
        """Create a customer and its first key atomically; CustomerExists if the id is taken."""
        ...

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], expected_version: int,
                        updated_at: str) -> Customer:
        """Apply `changes` if the stored version is `expected_version`; bumps the version."""
        ...

    def list_customers(self, limit: int = 50, cursor: str = "") -> Page[Customer]: ...

    def put_key(self, key: ApiKey) -> None: ...

    def revoke_key(self, customer_id: str, key_id: str, revoked_at: str) -> ApiKey: ...

    def list_keys(self, customer_id: str) -> list[ApiKey]: ...


class InMemoryRegistry:
    """A dict-backed registry with the same semantics as the DynamoDB adapter."""

    def __init__(self, customers: Mapping[str, Customer] | None = None) -> None:
        self.customers: dict[str, Customer] = dict(customers or {})
        self.keys: dict[str, ApiKey] = {}  # key_hash -> key
        self.reads = 0

    def add(self, customer: Customer, secret: str | None = None) -> None:
        """Test convenience: store a customer (and a key for `secret`) without the admin path."""
        self.customers[customer.customer_id] = customer
        if secret is not None:
            digest = hash_api_key(secret)
            self.keys[digest] = ApiKey(new_key_id(), customer.customer_id, digest, secret[:8], customer.created_at)

    def get_customer(self, customer_id: str) -> Customer | None:
        self.reads += 1
        return self.customers.get(customer_id)

    def customer_for_key(self, key_hash: str) -> str | None:
        self.reads += 1
        key = self.keys.get(key_hash)
        return key.customer_id if key is not None and key.active else None

    def put_customer(self, customer: Customer, first_key: ApiKey) -> None:
        if customer.customer_id in self.customers:
            raise CustomerExists(f"customer {customer.customer_id} already exists")
        self.customers[customer.customer_id] = customer
        self.keys[first_key.key_hash] = first_key

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], expected_version: int,
                        updated_at: str) -> Customer:
        current = self.customers.get(customer_id)
        if current is None:
            raise CustomerNotFound(f"customer {customer_id} not found")
        if current.version != expected_version:
            raise VersionConflict(f"customer {customer_id} is at version {current.version}, not {expected_version}")
        updated = replace(current, **dict(changes), updated_at=updated_at, version=current.version + 1)
        self.customers[customer_id] = updated
        return updated

    def list_customers(self, limit: int = 50, cursor: str = "") -> Page[Customer]:
        ordered = sorted(self.customers.values(), key=lambda c: c.customer_id)
        start = int(cursor) if cursor else 0
        items = tuple(ordered[start:start + limit])
        more = start + limit < len(ordered)
        return Page(items, str(start + limit) if more else "")

    def put_key(self, key: ApiKey) -> None:
        if key.customer_id not in self.customers:
            raise CustomerNotFound(f"customer {key.customer_id} not found")
        self.keys[key.key_hash] = key

    def revoke_key(self, customer_id: str, key_id: str, revoked_at: str) -> ApiKey:
        for digest, key in self.keys.items():
            if key.key_id == key_id and key.customer_id == customer_id:
                revoked = key if key.revoked_at else replace(key, revoked_at=revoked_at)
                self.keys[digest] = revoked
                return revoked
        raise KeyNotFound(f"key {key_id} not found for customer {customer_id}")

    def list_keys(self, customer_id: str) -> list[ApiKey]:
        return sorted((k for k in self.keys.values() if k.customer_id == customer_id), key=lambda k: k.created_at)


class CachedRegistry:
    """Caches registry reads per container for at most `ttl_seconds` (≤ 60), misses included.

    Errors are never cached: a failed read fails closed now and is retried on the next request.
    """

    def __init__(self, inner: CustomerRegistry, ttl_seconds: float = MAX_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 4096) -> None:
        if not 0 <= ttl_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache time must be within 0..{MAX_CACHE_SECONDS:g} s, got {ttl_seconds}")
        self.inner = inner
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()

    def _cached(self, kind: str, key: str, load: Callable[[str], Any]) -> Any:
        now = self._clock()
        entry = self._entries.get((kind, key))
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        value = load(key)
        if self.ttl_seconds > 0:
            self._entries[(kind, key)] = (now, value)
            self._entries.move_to_end((kind, key))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def get_customer(self, customer_id: str) -> Customer | None:
        customer: Customer | None = self._cached("customer", customer_id, self.inner.get_customer)
        return customer

    def customer_for_key(self, key_hash: str) -> str | None:
        customer_id: str | None = self._cached("key", key_hash, self.inner.customer_for_key)
        return customer_id

    def clear(self) -> None:
        self._entries.clear()
