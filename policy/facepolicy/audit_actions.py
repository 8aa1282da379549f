"""Admin actions on the audit itself (seal, verify, report) leave audit records like registry changes do."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from aws_lambda_powertools import Logger

from facepolicy.audit import AuditLog, iso_time
from facepolicy.model import AuditRecord, ReasonCode
from facepolicy.policy import Policy

logger = Logger(child=True)  # a library module: logs through the function's service logger, no handler of its own

ADMIN_PARTITION = "_admin"  # the audit partition of admin actions that concern no customer (not a valid customer id)


def record_admin_action(audit: AuditLog, policy: Policy, action: str, *, principal: str, request_id: str,
                        source: str, details: Mapping[str, str] | None = None,
                        clock: Callable[[], float] = time.time) -> AuditRecord:
    """Audit one admin action (operation `manage`, the admin's principal); raises AuditUnavailable."""
    record = AuditRecord(customer_id=ADMIN_PARTITION, operation="manage", allowed=True,
                         reason_code=ReasonCode.ALLOWED, rule_id=None, request_id=request_id, source=source,
                         at=iso_time(clock()), message=action, principal=principal,
                         details={"action": action, **(details or {})}, policy_version=policy.version,
                         policy_sha256=policy.sha256)
    logger.info("admin action", action=action, principal=principal, request_id=request_id,
                details=dict(details or {}))
    audit.record(record)
    return record
