"""Value types of the policy layer: customers, decisions, reason codes, operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

OPERATIONS = ("detect", "compare", "index", "search", "users", "manage", "delete")
STATUSES = ("pending", "active", "suspended", "terminated")


class ReasonCode:
    """Stable reason codes of a decision (part of the public API)."""

    ALLOWED = "ALLOWED"
    CUSTOMER_UNKNOWN = "CUSTOMER_UNKNOWN"
    CUSTOMER_NOT_ACTIVE = "CUSTOMER_NOT_ACTIVE"
    SECTOR_DISALLOWED = "SECTOR_DISALLOWED"
    OPERATION_UNKNOWN = "OPERATION_UNKNOWN"
    POLICY_UNAVAILABLE = "POLICY_UNAVAILABLE"


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    sector: str
    status: str = "active"
    end_user_sectors: tuple[str, ...] = ()
    jurisdiction: str = ""
    use_cases: tuple[str, ...] = ()
    attested_at: str = ""
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    quotas: dict[str, int] = field(default_factory=dict)  # overrides of the quota defaults (facepolicy.quota)
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason_code: str
    rule_id: str | None
    message: str
    policy_version: int = 0  # the policy file that made the decision (0: none applied yet)
    policy_sha256: str = ""


@dataclass(frozen=True)
class ApiKey:
    """An API key's metadata. The secret itself is never stored, only its hash."""

    key_id: str
    customer_id: str
    key_hash: str
    prefix: str  # the first characters of the secret, to help a customer tell keys apart
    created_at: str
    revoked_at: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked_at


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: the only time the secret exists outside the customer's hands."""

    key: ApiKey
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AuditRecord:
    """One audited decision or registry change."""

    customer_id: str
    operation: str
    allowed: bool
    reason_code: str
    rule_id: str | None
    request_id: str
    source: str
    at: str  # ISO 8601 UTC, millisecond precision
    message: str = ""
    principal: str = ""  # the admin principal of a registry change; empty for customer requests
    details: dict[str, str] = field(default_factory=dict, compare=False)
    policy_version: int = 0  # the policy in force: its version and the SHA-256 of its file
    policy_sha256: str = ""
    sector: str = ""  # the customer's sector when decided ("" for unknown customers)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `next_cursor` is opaque and empty on the last page."""

    items: tuple[T, ...]
    next_cursor: str = ""
