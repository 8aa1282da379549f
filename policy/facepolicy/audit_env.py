"""Build the audit sealing, verification and report services from the Lambda environment.

Variables (template.yaml): AUDIT_TABLE, AUDIT_RETENTION_DAYS, AUDIT_DIGEST_BUCKET,
AUDIT_SEAL_PERIOD_MINUTES (default 60), AUDIT_SEAL_SETTLE_SECONDS (default 300). Endpoint overrides
(the local stack) come through boto3's own AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from facepolicy.dynamodb import DynamoDBAuditLog
from facepolicy.s3digests import S3DigestStore
from facepolicy.seal import DEFAULT_PERIOD_SECONDS, DEFAULT_SETTLE_SECONDS, AuditSealer, AuditVerifier


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class AuditServices:
    """What the audit function needs, built once per container."""

    audit: DynamoDBAuditLog
    digests: S3DigestStore
    sealer: AuditSealer
    verifier: AuditVerifier


def audit_services_from_env(environ: Mapping[str, str] | None = None, dynamodb: Any | None = None,
                            s3: Any | None = None) -> AuditServices:
    env = os.environ if environ is None else environ
    resource = dynamodb if dynamodb is not None else boto3.resource("dynamodb")
    audit = DynamoDBAuditLog(resource.Table(env["AUDIT_TABLE"]),
                             retention_days=_int(env, "AUDIT_RETENTION_DAYS", 400))
    digests = S3DigestStore(s3 if s3 is not None else boto3.client("s3"), env["AUDIT_DIGEST_BUCKET"])
    period = _int(env, "AUDIT_SEAL_PERIOD_MINUTES", DEFAULT_PERIOD_SECONDS // 60) * 60
    settle = _int(env, "AUDIT_SEAL_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS)
    return AuditServices(audit, digests, AuditSealer(audit, digests, period_seconds=period, settle_seconds=settle),
                         AuditVerifier(audit, digests, period_seconds=period))
