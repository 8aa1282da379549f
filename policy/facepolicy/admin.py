"""RegistryAdmin: the admin path over the registry (registry_api routes, CLI admin commands, local demo).

It validates against the policy's vocabularies, applies the change through the registry store, and
audits every change as operation "manage" with the admin principal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from facepolicy.audit import AuditLog, iso_time
from facepolicy.errors import CustomerNotFound, InvalidCustomer, InvalidTransition
from facepolicy.jurisdictions import is_jurisdiction
from facepolicy.model import STATUSES, ApiKey, AuditRecord, Customer, IssuedKey, Page, ReasonCode
from facepolicy.policy import Policy
from facepolicy.quota import merge_overrides
from facepolicy.registry import RegistryStore, hash_api_key, new_api_key, new_customer_id, new_key_id

logger = Logger(child=True)  # a library module: logs through the function's service logger, no handler of its own

CUSTOMER_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
UPDATABLE = ("name", "sector", "end_user_sectors", "jurisdiction", "status", "use_cases", "attested_at", "quotas")


def customer_view(customer: Customer) -> dict[str, Any]:
    view = asdict(customer)
    view.pop("extra", None)
    view["end_user_sectors"] = list(customer.end_user_sectors)
    view["use_cases"] = list(customer.use_cases)
    return view


def key_view(key: ApiKey) -> dict[str, Any]:
    return {"key_id": key.key_id, "customer_id": key.customer_id, "prefix": key.prefix,
            "created_at": key.created_at, "revoked_at": key.revoked_at or None, "active": key.active}


def audit_view(record: AuditRecord) -> dict[str, Any]:
    view = asdict(record)
    view["decision"] = "allow" if record.allowed else "deny"
    return view


class RegistryAdmin:
    def __init__(self, store: RegistryStore, audit: AuditLog, policy: Policy,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.audit = audit
        self.policy = policy
        self.clock = clock

    # ---- validation
    def _check(self, fields: Mapping[str, Any]) -> None:
        if "name" in fields and not (isinstance(fields["name"], str) and 0 < len(fields["name"].strip()) <= 200):
            raise InvalidCustomer("name must be 1-200 characters")
        for name in ("sector",):
            if name in fields and fields[name] not in self.policy.sectors:
                raise InvalidCustomer(f"unknown sector {fields[name]!r}; known: {', '.join(self.policy.sectors)}")
        if "end_user_sectors" in fields:
            unknown = [s for s in fields["end_user_sectors"] if s not in self.policy.sectors]
            if unknown:
                raise InvalidCustomer(f"unknown end-user sectors {unknown}")
        if "jurisdiction" in fields and not is_jurisdiction(fields["jurisdiction"]):
            raise InvalidCustomer(f"jurisdiction {fields['jurisdiction']!r} is not an ISO 3166 code (e.g. US, US-CA)")
        if "status" in fields and fields["status"] not in STATUSES:
            raise InvalidCustomer(f"unknown status {fields['status']!r}; known: {', '.join(STATUSES)}")
        if fields.get("attested_at"):
            try:
                datetime.fromisoformat(str(fields["attested_at"]).replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidCustomer("attested_at must be an ISO 8601 time") from exc

    def _audit(self, customer_id: str, action: str, *, principal: str, request_id: str, source: str,
               details: Mapping[str, str] | None = None) -> None:
        record = AuditRecord(customer_id=customer_id, operation="manage", allowed=True,
                             reason_code=ReasonCode.ALLOWED, rule_id=None, request_id=request_id, source=source,
                             at=iso_time(self.clock()), message=action, principal=principal,
                             details={"action": action, **(details or {})},
                             policy_version=self.policy.version, policy_sha256=self.policy.sha256)
        logger.info("registry change", customer_id=customer_id, action=action, principal=principal,
                    request_id=request_id, details=dict(details or {}))
        self.audit.record(record)

    def _issue(self, customer_id: str, now: str) -> IssuedKey:
        secret = new_api_key()
        key = ApiKey(new_key_id(), customer_id, hash_api_key(secret), secret[:8], now)
        return IssuedKey(key, secret)

    # ---- customers
    def create_customer(self, *, name: str, sector: str, jurisdiction: str, end_user_sectors: Iterable[str] = (),
                        use_cases: Iterable[str] = (), status: str = "pending", attested_at: str = "",
                        customer_id: str = "", principal: str, request_id: str,
                        source: str = "registry_api") -> tuple[Customer, IssuedKey]:
        """Create a customer with its first API key; the key's secret is returned once, never stored."""
        customer_id = customer_id or new_customer_id()
        if not CUSTOMER_ID_PATTERN.match(customer_id):
            raise InvalidCustomer("customer_id must be 3-64 of a-z 0-9 _ - (starting with a letter or digit)")
        fields = {"name": name, "sector": sector, "jurisdiction": jurisdiction,
                  "end_user_sectors": tuple(end_user_sectors), "use_cases": tuple(use_cases),
                  "status": status, "attested_at": attested_at}
        self._check(fields)
        now = iso_time(self.clock())
        customer = Customer(customer_id=customer_id, name=name.strip(), sector=sector, status=status,
                            end_user_sectors=tuple(end_user_sectors), jurisdiction=jurisdiction,
                            use_cases=tuple(use_cases), attested_at=attested_at, created_at=now, updated_at=now,
                            version=1)
        issued = self._issue(customer_id, now)
        self.store.put_customer(customer, issued.key)
        self._audit(customer_id, "create_customer", principal=principal, request_id=request_id, source=source,
                    details={"sector": sector, "status": status, "key_id": issued.key.key_id,
                             "end_user_sectors": ",".join(customer.end_user_sectors)})
        return customer, issued

    def get_customer(self, customer_id: str) -> Customer:
        customer = self.store.get_customer(customer_id)
        if customer is None:
            raise CustomerNotFound(f"customer {customer_id} not found")
        return customer

    def list_customers(self, limit: int = 50, cursor: str = "") -> Page[Customer]:
        return self.store.list_customers(limit=limit, cursor=cursor)

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], expected_version: int, *,
                        principal: str, request_id: str, source: str = "registry_api") -> Customer:
        """Apply changes if the customer is still at `expected_version` (else VersionConflict)."""
        unknown = set(changes) - set(UPDATABLE)
        if unknown:
            raise InvalidCustomer(f"cannot change {sorted(unknown)}")
        normalized = {k: tuple(v) if k in ("end_user_sectors", "use_cases") else v for k, v in changes.items()}
        self._check(normalized)
        current = self.get_customer(customer_id)
        quota_changes: Mapping[str, Any] = {}
        merged: dict[str, int] = {}
        if "quotas" in normalized:  # NAME=VALUE changes merge into the customer's overrides (None: back to default)
            if not isinstance(normalized["quotas"], Mapping):
                raise InvalidCustomer("quotas must map quota names to whole numbers (or null for the default)")
            quota_changes = normalized["quotas"]
            normalized["quotas"] = merged = merge_overrides(current.quotas, quota_changes)
        if current.status == "terminated" and normalized.get("status", "terminated") != "terminated":
            raise InvalidTransition("a terminated customer cannot be reactivated; create a new customer")
        updated = self.store.update_customer(customer_id, normalized, expected_version, iso_time(self.clock()))
        details = {k: ",".join(v) if isinstance(v, tuple) else str(v) for k, v in normalized.items() if k != "quotas"}
        if "quotas" in normalized:  # what was asked, and the overrides that result
            details["quota_changes"] = ",".join(f"{k}={v}" for k, v in sorted(quota_changes.items()))
            details["quotas"] = ",".join(f"{k}={v}" for k, v in sorted(merged.items()))
        self._audit(customer_id, "update_customer", principal=principal, request_id=request_id, source=source,
                    details={**details, "version": str(updated.version)})
        return updated

    # ---- keys
    def create_key(self, customer_id: str, *, principal: str, request_id: str,
                   source: str = "registry_api") -> IssuedKey:
        customer = self.get_customer(customer_id)
        if customer.status == "terminated":
            raise InvalidTransition("a terminated customer cannot get new keys")
        issued = self._issue(customer_id, iso_time(self.clock()))
        self.store.put_key(issued.key)
        self._audit(customer_id, "create_key", principal=principal, request_id=request_id, source=source,
                    details={"key_id": issued.key.key_id})
        return issued

    def revoke_key(self, customer_id: str, key_id: str, *, principal: str, request_id: str,
                   source: str = "registry_api") -> ApiKey:
        key = self.store.revoke_key(customer_id, key_id, iso_time(self.clock()))
        self._audit(customer_id, "revoke_key", principal=principal, request_id=request_id, source=source,
                    details={"key_id": key_id})
        return key

    def rotate_key(self, customer_id: str, key_id: str, *, principal: str, request_id: str,
                   source: str = "registry_api") -> IssuedKey:
        """Create a new key, then revoke `key_id` (the customer is never without a key)."""
        issued = self.create_key(customer_id, principal=principal, request_id=request_id, source=source)
        self.revoke_key(customer_id, key_id, principal=principal, request_id=request_id, source=source)
        return issued

    def list_keys(self, customer_id: str) -> list[ApiKey]:
        self.get_customer(customer_id)
        return self.store.list_keys(customer_id)

    # ---- audit
    def list_audit(self, customer_id: str = "", since: str = "", until: str = "", limit: int = 50,
                   cursor: str = "") -> Page[AuditRecord]:
        return self.audit.list_records(customer_id=customer_id, since=since, until=until, limit=limit,
                                       cursor=cursor)
