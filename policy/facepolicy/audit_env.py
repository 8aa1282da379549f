"""Build the audit sealing, verification and report services from the Lambda environment.

Variables (template.yaml): the policy layer's AUDIT_TABLE and AUDIT_RETENTION_DAYS (facepolicy.env), and
AUDIT_DIGEST_BUCKET, AUDIT_SEAL_PERIOD_MINUTES (default 60), AUDIT_SEAL_SETTLE_SECONDS (default 300).
Clients use facepolicy.env.CLIENT_CONFIG; endpoint overrides (the local stack) come through boto3's own
AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from facepolicy.dynamodb import DynamoDBAuditLog
from facepolicy.env import CLIENT_CONFIG, audit_from_env
from facepolicy.policy import Policy, load_policy
from facepolicy.s3digests import S3DigestStore
from facepolicy.seal import DEFAULT_PERIOD_SECONDS, DEFAULT_SETTLE_SECONDS, AuditSealer, AuditVerifier


@dataclass(frozen=True)
class SealSettings:
    """The seal function's own variables."""

    digest_bucket: str
    period_seconds: int = DEFAULT_PERIOD_SECONDS
    settle_seconds: int = DEFAULT_SETTLE_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SealSettings:
        env = os.environ if environ is None else environ
        bucket = env.get("AUDIT_DIGEST_BUCKET", "")
        if not bucket:
            raise KeyError("AUDIT_DIGEST_BUCKET is not set: the function's environment lacks the digest bucket")
        return cls(bucket, _int(env, "AUDIT_SEAL_PERIOD_MINUTES", DEFAULT_PERIOD_SECONDS // 60) * 60,
                   _int(env, "AUDIT_SEAL_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class AuditServices:
    """What the audit function needs, composed once per container."""

    audit: DynamoDBAuditLog
    digests: S3DigestStore
    sealer: AuditSealer
    verifier: AuditVerifier
    policy: Policy = field(default_factory=load_policy)
    clock: Callable[[], float] = time.time


def audit_services_from_env(environ: Mapping[str, str] | None = None, dynamodb: Any | None = None,
                            s3: Any | None = None) -> AuditServices:
    settings = SealSettings.from_env(environ)
    audit = audit_from_env(environ, dynamodb)
    if s3 is None:
        import boto3

        s3 = boto3.client("s3", config=CLIENT_CONFIG)
    digests = S3DigestStore(s3, settings.digest_bucket)
    return AuditServices(audit, digests,
                         AuditSealer(audit, digests, period_seconds=settings.period_seconds,
                                     settle_seconds=settings.settle_seconds),
                         AuditVerifier(audit, digests, period_seconds=settings.period_seconds))
