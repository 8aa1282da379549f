"""The transparency report: what the policy decided over a period, aggregated from the audit log (pure).

Customer decisions (records without an admin principal) by sector x operation x outcome, refusals by
rule and reason, registry changes (suspensions, terminations, key revocations), erasures (delete
requests by kind) and the policy versions in force. Rendering (CSV, HTML) is the client's job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from facepolicy.model import AuditRecord

REPORT_FORMAT = "facesearch-transparency-report/1"
UNKNOWN_SECTOR = "unregistered"

# Erasure kinds by the source of the `delete` decision (the route or the indexer that erased).
ERASURE_SOURCES = {
    "http DELETE /collections/{collection_id}": "collections",
    "http DELETE /collections/{collection_id}/faces": "faces",
    "http DELETE /collections/{collection_id}/users/{user_id}": "users",
    "http DELETE /collections/{collection_id}/users/{user_id}/faces": "user_faces",
    "index_faces": "images",
}


def _rows(counter: Counter[tuple[str, ...]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**dict(zip(names, key, strict=True)), "count": count} for key, count in sorted(counter.items())]


def build_report(records: Iterable[AuditRecord], *, since: str, until: str, generated_at: str) -> dict[str, Any]:
    """Aggregate audit records with since <= at < until into the report document (JSON-ready)."""
    decisions: Counter[tuple[str, ...]] = Counter()
    refusals: Counter[tuple[str, ...]] = Counter()
    refusals_by_sector: Counter[tuple[str, ...]] = Counter()
    erasures: Counter[tuple[str, ...]] = Counter()
    registry: Counter[tuple[str, ...]] = Counter()
    offboarded: Counter[str] = Counter()
    daily: Counter[tuple[str, ...]] = Counter()
    policies: dict[tuple[int, str], dict[str, Any]] = {}
    customers: set[str] = set()
    refused_customers: set[str] = set()
    total = allowed = admin_actions = 0
    for record in records:
        if not since <= record.at < until:
            continue
        if record.policy_sha256:
            seen = policies.setdefault((record.policy_version, record.policy_sha256), {
                "version": record.policy_version, "sha256": record.policy_sha256, "first_seen": record.at,
                "last_seen": record.at, "records": 0})
            seen["first_seen"] = min(seen["first_seen"], record.at)
            seen["last_seen"] = max(seen["last_seen"], record.at)
            seen["records"] += 1
        if record.principal:  # an admin action: registry changes, seals, verifications, reports
            admin_actions += 1
            action = record.details.get("action", record.message)
            if action == "update_customer" and record.details.get("status") in ("suspended", "terminated", "active"):
                registry[("status_" + record.details["status"],)] += 1
            elif action in ("revoke_key", "create_customer", "create_key", "erase_customer"):
                registry[(action,)] += 1
            if action == "erase_customer":  # offboarding: what each pass removed, by kind
                offboarded.update({k: int(v) for k, v in record.details.items() if v.isdigit() and k != "pass"})
            continue
        total += 1
        outcome = "allowed" if record.allowed else "refused"
        sector = record.sector or UNKNOWN_SECTOR
        decisions[(sector, record.operation, outcome)] += 1
        customers.add(record.customer_id)
        daily[(record.at[:10], outcome)] += 1
        if record.allowed:
            allowed += 1
            if record.operation == "delete":
                erasures[(ERASURE_SOURCES.get(record.source, "other"),)] += 1
        else:
            refused_customers.add(record.customer_id)
            refusals[(record.rule_id or "", record.reason_code)] += 1
            refusals_by_sector[(sector, record.reason_code)] += 1
    return {
        "format": REPORT_FORMAT,
        "period": {"since": since, "until": until},
        "generated_at": generated_at,
        "totals": {"decisions": total, "allowed": allowed, "refused": total - allowed,
                   "customers": len(customers), "customers_refused": len(refused_customers),
                   "admin_actions": admin_actions},
        "decisions": _rows(decisions, ("sector", "operation", "outcome")),
        "refusals": _rows(refusals, ("rule_id", "reason_code")),
        "refusals_by_sector": _rows(refusals_by_sector, ("sector", "reason_code")),
        "registry": {key[0]: count for key, count in sorted(registry.items())},
        "erasures": {key[0]: count for key, count in sorted(erasures.items())},
        "offboarding_erased": dict(sorted(offboarded.items())),
        "daily": _rows(daily, ("day", "outcome")),
        "policies": sorted(policies.values(), key=lambda p: (p["first_seen"], p["version"])),
        "notes": [
            "Decisions are policy checks of customer requests and uploads; admin actions are counted apart.",
            "Erasures count delete requests the policy admitted (a delete is always allowed to a known "
            "customer), by kind: collections, faces, users, images (uploads removed); not objects.",
            "registry counts status changes (status_suspended, status_terminated, status_active), customers "
            "created, API keys created or revoked and customers erased (offboarding); offboarding_erased sums "
            "what those erasures removed, by kind (collections, faces, images, upload versions...).",
        ],
    }
