"""Moto-backed registry and audit tables built from template.yaml's own definitions, plus the policy objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facepolicy import CachedRegistry, InMemoryAuditLog, PolicyGate, RegistryAdmin, load_policy
from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry
from facesearch.local.template import create_table, load_template
from tests.support.fakes import FakeClock, RecordingMetrics

REGISTRY_TABLE = "facesearch-test-registry"
AUDIT_TABLE = "facesearch-test-audit"
ADMIN_ARN = "arn:aws:sts::123456789012:assumed-role/facesearch-admin/alice"




@dataclass
class Stack:
    resource: Any
    registry: DynamoDBRegistry
    audit: DynamoDBAuditLog
    admin: RegistryAdmin
    clock: FakeClock
    metrics: RecordingMetrics

    def gate(self, ttl_seconds: float = 60.0) -> PolicyGate:
        cached = CachedRegistry(self.registry, ttl_seconds=ttl_seconds, clock=self.clock)
        return PolicyGate(cached, self.audit, load_policy(), clock=self.clock, metrics=self.metrics)

    def env(self) -> dict[str, str]:
        return {"REGISTRY_TABLE": REGISTRY_TABLE, "AUDIT_TABLE": AUDIT_TABLE, "AUDIT_RETENTION_DAYS": "400",
                "POLICY_CACHE_SECONDS": "60"}


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    return load_template()


def build_stack() -> Stack:
    template = _template()
    client = boto3.client("dynamodb")
    create_table(client, template, "RegistryTable", REGISTRY_TABLE)
    create_table(client, template, "AuditTable", AUDIT_TABLE)
    resource = boto3.resource("dynamodb")
    registry = DynamoDBRegistry(resource.Table(REGISTRY_TABLE))
    audit = DynamoDBAuditLog(resource.Table(AUDIT_TABLE))
    clock = FakeClock()
    return Stack(resource, registry, audit, RegistryAdmin(registry, audit, load_policy(), clock=clock), clock,
                 RecordingMetrics())


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield build_stack()


@pytest.fixture
def memory_audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()
