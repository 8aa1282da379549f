"""The audit table and the Object Lock digest bucket in moto, built from template.yaml's own definitions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facepolicy import CachedRegistry, Customer, InMemoryRegistry, PolicyGate, load_policy
from facepolicy.dynamodb import DynamoDBAuditLog
from facepolicy.s3digests import S3DigestStore
from facepolicy.seal import AuditSealer, AuditVerifier
from facesearch.local.template import Names, Resolver, create_bucket, create_table, load_template
from tests.support.fakes import FakeClock

AUDIT_TABLE = "facesearch-test-audit"
DIGEST_BUCKET = "facesearch-test-digests"
HOUR = 3600
START = 1_795_654_800.0  # 2026-11-26T01:00:00Z: a first seal at 02:06 writes two digests (00:00, 01:00)


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    return load_template()


@dataclass
class World:
    clock: FakeClock
    table: Any
    audit: DynamoDBAuditLog
    s3: Any
    digests: S3DigestStore
    sealer: AuditSealer
    verifier: AuditVerifier
    gate: PolicyGate

    def act(self, customer_id: str, operation: str, request_id: str) -> None:
        """A policy decision (so an audit record) at the clock's time."""
        self.gate.check(customer_id, operation, request_id=request_id, source="test")

    def item(self, request_id: str) -> dict[str, Any]:
        """The stored item of a decision (a test-only scan)."""
        (found,) = [i for i in self.table.scan()["Items"] if i["request_id"] == request_id]
        return dict(found)


def build_world(lock_mode: str = "GOVERNANCE", retention_days: int = 400, lock_days: int | None = None) -> World:
    template = _template()
    create_table(boto3.client("dynamodb"), template, "AuditTable", AUDIT_TABLE)
    s3 = boto3.client("s3")
    resolver = Resolver(template, Names(parameters={"AuditLockMode": lock_mode,
                                                    "AuditRetentionDays": str(lock_days or retention_days)}))
    create_bucket(s3, resolver, template["Resources"]["AuditDigestBucket"]["Properties"], DIGEST_BUCKET)
    clock = FakeClock(START)
    audit = DynamoDBAuditLog(boto3.resource("dynamodb").Table(AUDIT_TABLE), retention_days=retention_days,
                             clock=clock)
    digests = S3DigestStore(s3, DIGEST_BUCKET, clock=clock)
    registry = InMemoryRegistry()
    registry.add(Customer("shop", "Shop", "retail", jurisdiction="DE"), secret="fsk_shop")
    registry.add(Customer("pd", "Metro PD", "law_enforcement", jurisdiction="US-CA"), secret="fsk_pd")
    gate = PolicyGate(CachedRegistry(registry, clock=clock), audit, load_policy(), clock=clock)
    return World(clock, audit.table, audit, s3, digests,
                 AuditSealer(audit, digests, period_seconds=HOUR, settle_seconds=300, clock=clock),
                 AuditVerifier(audit, digests, clock=clock, period_seconds=HOUR), gate)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world()
