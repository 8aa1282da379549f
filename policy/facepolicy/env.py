"""Build the policy layer's adapters from the Lambda environment (template.yaml's variables).

The only module besides `dynamodb.py` that touches boto3. Endpoint overrides (the local stack,
moto server) come through boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3

from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry
from facepolicy.policy import load_policy
from facepolicy.registry import MAX_CACHE_SECONDS, CachedRegistry

if TYPE_CHECKING:
    from facepolicy.admin import RegistryAdmin
    from facepolicy.gate import MetricsSink, PolicyGate


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _resource(resource: Any | None) -> Any:
    return resource if resource is not None else boto3.resource("dynamodb")


def cache_seconds(environ: Mapping[str, str] | None = None) -> float:
    """POLICY_CACHE_SECONDS, clamped to 0..60 (default 60)."""
    raw = _env(environ).get("POLICY_CACHE_SECONDS", "")
    try:
        value = float(raw) if raw else MAX_CACHE_SECONDS
    except ValueError:
        value = MAX_CACHE_SECONDS
    return min(max(value, 0.0), MAX_CACHE_SECONDS)


def registry_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> DynamoDBRegistry:
    return DynamoDBRegistry(_resource(resource).Table(_env(environ)["REGISTRY_TABLE"]))


def audit_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> DynamoDBAuditLog:
    env = _env(environ)
    return DynamoDBAuditLog(_resource(resource).Table(env["AUDIT_TABLE"]),
                            retention_days=int(env.get("AUDIT_RETENTION_DAYS", "400") or 400))


def cached_registry_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> CachedRegistry:
    return CachedRegistry(registry_from_env(environ, resource), ttl_seconds=cache_seconds(environ))


def gate_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None,
                  metrics: MetricsSink | None = None) -> PolicyGate:
    from facepolicy.gate import PolicyGate

    resource = _resource(resource)
    return PolicyGate(cached_registry_from_env(environ, resource), audit_from_env(environ, resource),
                      load_policy(), metrics=metrics)


def admin_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> RegistryAdmin:
    from facepolicy.admin import RegistryAdmin

    resource = _resource(resource)
    return RegistryAdmin(registry_from_env(environ, resource), audit_from_env(environ, resource), load_policy())
