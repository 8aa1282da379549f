"""The policy layer's settings, read from the Lambda environment in this one place, and the builders
that turn them into adapters (the composition roots of the functions call these).

    gate = gate_from_env(metrics=metrics)        # the gate of a data-path function
    registry = key_registry_from_env()           # the authorizer's cached key lookup (botocore only)
    admin = admin_from_env()                     # registry_api's RegistryAdmin

`CLIENT_CONFIG` is the one botocore `Config` of every function's AWS clients (this layer is the one
every function carries). Besides `dynamodb.py`, the only module of the layer that touches boto3.
`botocore_client` is the lean way to a client (no boto3, a loader that looks only at the services asked
for): the authorizer's whole cold start is one client and one GetItem.
Endpoint overrides (the local stack, moto server) come through boto3's own AWS_ENDPOINT_URL(_*).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.loaders import Loader, instance_cache

from facepolicy.registry import MAX_CACHE_SECONDS, CachedRegistry

if TYPE_CHECKING:
    from facepolicy.admin import RegistryAdmin
    from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry
    from facepolicy.gate import MetricsSink, PolicyGate

# Standard retry mode (3 attempts, with its token bucket), bounded connect and read waits.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
DEFAULT_AUDIT_RETENTION_DAYS = 400


@dataclass(frozen=True)
class PolicySettings:
    """template.yaml's policy variables (Globals): tables, decision cache time, audit retention."""

    registry_table: str
    audit_table: str = ""
    cache_seconds: float = MAX_CACHE_SECONDS
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PolicySettings:
        env = os.environ if environ is None else environ
        return cls(registry_table=env.get("REGISTRY_TABLE", ""), audit_table=env.get("AUDIT_TABLE", ""),
                   cache_seconds=_cache_seconds(env.get("POLICY_CACHE_SECONDS", "")),
                   audit_retention_days=int(env.get("AUDIT_RETENTION_DAYS", "") or DEFAULT_AUDIT_RETENTION_DAYS))

    def table(self, name: str) -> str:
        value: str = getattr(self, name)
        if not value:
            raise KeyError(f"{name.upper()} is not set: the function's environment lacks the policy tables")
        return value


def _cache_seconds(raw: str) -> float:
    """POLICY_CACHE_SECONDS, clamped to 0..60 (default 60)."""
    try:
        value = float(raw) if raw else MAX_CACHE_SECONDS
    except ValueError:
        value = MAX_CACHE_SECONDS
    return min(max(value, 0.0), MAX_CACHE_SECONDS)


class _ServicesLoader(Loader):
    """botocore's data loader, told which services the process uses: botocore's own
    `list_available_services` lists every one of its ~450 service folders (about 0.02-0.03 s) before it
    loads a model; this one checks only `services`. The models read are the same files."""

    def __init__(self, services: tuple[str, ...], data_path: str | None = None) -> None:
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep) if p]
        super().__init__(extra_search_paths=extra)  # AWS_DATA_PATH honoured, as botocore's create_loader does
        self._services = services

    @instance_cache
    def list_available_services(self, type_name: str) -> list[str]:
        return sorted(s for s in self._services if self._has(s, type_name))

    def _has(self, service: str, type_name: str) -> bool:
        for path in self.search_paths:
            folder = os.path.join(path, service)
            if os.path.isdir(folder) and any(
                    self.file_loader.exists(os.path.join(folder, version, type_name))
                    for version in os.listdir(folder)):
                return True
        return False


def botocore_client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    """A low-level client from a fresh botocore session that knows only `service` (credentials, region and
    AWS_ENDPOINT_URL(_*) from the environment, as boto3's). For one-call functions: no boto3 import."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader",
                               _ServicesLoader((service,), session.get_config_variable("data_path")))
    return session.create_client(service, config=config)


def dynamodb_resource() -> Any:
    """A DynamoDB resource with the shared client configuration."""
    import boto3

    return boto3.resource("dynamodb", config=CLIENT_CONFIG)


def _parts(environ: Mapping[str, str] | None, resource: Any | None) -> tuple[PolicySettings, Any]:
    return PolicySettings.from_env(environ), resource if resource is not None else dynamodb_resource()


def registry_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> DynamoDBRegistry:
    from facepolicy.dynamodb import DynamoDBRegistry

    settings, resource = _parts(environ, resource)
    return DynamoDBRegistry(resource.Table(settings.table("registry_table")))


def audit_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> DynamoDBAuditLog:
    from facepolicy.dynamodb import DynamoDBAuditLog

    settings, resource = _parts(environ, resource)
    return DynamoDBAuditLog(resource.Table(settings.table("audit_table")),
                            retention_days=settings.audit_retention_days)


def cached_registry_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> CachedRegistry:
    settings, resource = _parts(environ, resource)
    return CachedRegistry(registry_from_env(environ, resource), ttl_seconds=settings.cache_seconds)


def key_registry_from_env(environ: Mapping[str, str] | None = None, client: Any | None = None) -> CachedRegistry:
    """The authorizer's registry: key and customer reads over a low-level client, cached POLICY_CACHE_SECONDS."""
    from facepolicy.dynamodb_reads import DynamoDBRegistryReader

    settings = PolicySettings.from_env(environ)
    reader = DynamoDBRegistryReader(client if client is not None else botocore_client("dynamodb"),
                                    settings.table("registry_table"))
    return CachedRegistry(reader, ttl_seconds=settings.cache_seconds)


def gate_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None,
                  metrics: MetricsSink | None = None) -> PolicyGate:
    from facepolicy.gate import PolicyGate
    from facepolicy.policy import load_policy
    from facepolicy.quota_dynamodb import enforcer_from_env

    _, resource = _parts(environ, resource)
    registry = cached_registry_from_env(environ, resource)
    return PolicyGate(registry, audit_from_env(environ, resource), load_policy(), metrics=metrics,
                      quota=enforcer_from_env(registry, environ, metrics=metrics))


def admin_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> RegistryAdmin:
    from facepolicy.admin import RegistryAdmin
    from facepolicy.policy import load_policy

    _, resource = _parts(environ, resource)
    return RegistryAdmin(registry_from_env(environ, resource), audit_from_env(environ, resource), load_policy())
