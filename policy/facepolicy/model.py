"""Value types of the policy layer: customers, decisions, reason codes, operations."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason_code: str
    rule_id: str | None
    message: str
