"""The policy layer's settings, read from the Lambda environment in this one place, and the builders
that turn them into adapters (the composition roots of the functions call these).

    gate = gate_from_env(metrics=metrics)        # the gate of a data-path function
    registry = key_registry_from_env()           # the authorizer's cached key lookup (botocore only)
    admin = admin_from_env()                     # registry_api's RegistryAdmin

`CLIENT_CONFIG` is the one botocore `Config` of every function's AWS clients (this layer is the one
every function carries). Besides `dynamodb.py`, the only module of the layer that touches boto3.
`lean_boto3()` gives boto3's default session a data loader that skips botocore's scan of every service
folder (the composition roots call it first); `botocore_client` is the leaner way to one client, without
boto3 at all: the authorizer's whole cold start is one client and one GetItem.
Endpoint overrides (the local stack, moto server) come through boto3's own AWS_ENDPOINT_URL(_*).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from botocore.config import Config
from botocore.loaders import Loader

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


class _ServiceNames(Sequence[str]):
    """What botocore's `list_available_services` returns, answered lazily: `in` (all a client or resource
    needs) looks at that one service's folder; iterating lists every service, as botocore does."""

    def __init__(self, loader: _LeanLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._names: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._loader.has_service(name, self._type_name)

    def _all(self) -> list[str]:
        if self._names is None:
            self._names = self._loader.all_services(self._type_name)
        return self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]


class _LeanLoader(Loader):
    """botocore's data loader without its start-up scan: before loading any model, botocore lists every one
    of its ~450 service folders, once per kind of file (service-2, endpoint-rule-set-1, resources-1, ...:
    0.02-0.03 s each, 0.05-0.1 s for a function's first clients); this loader checks only the folder of the
    service asked for. The models read are the same files, from the same search paths."""

    def __init__(self, data_path: str | None = None) -> None:
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep) if p]
        super().__init__(extra_search_paths=extra)  # AWS_DATA_PATH honoured, as botocore's create_loader does
        self._lists: dict[str, _ServiceNames] = {}

    def list_available_services(self, type_name: str) -> Any:
        return self._lists.setdefault(type_name, _ServiceNames(self, type_name))

    def all_services(self, type_name: str) -> list[str]:
        names: list[str] = super().list_available_services(type_name)
        return names

    def has_service(self, service: str, type_name: str) -> bool:
        for path in self.search_paths:
            folder = os.path.join(path, service)
            if os.path.isdir(folder) and any(self.file_loader.exists(os.path.join(folder, version, type_name))
                                             for version in os.listdir(folder)):
                return True
        return False


def botocore_session() -> Any:
    """A botocore session with the lean data loader (credentials, region and AWS_ENDPOINT_URL(_*) from the
    environment, as any session's)."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", _LeanLoader(session.get_config_variable("data_path")))
    return session


def botocore_client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    """A low-level client of a lean botocore session. For one-call functions (the authorizer): no boto3."""
    return botocore_session().create_client(service, config=config)


def lean_boto3(*, renew: bool = False) -> None:
    """Make boto3's default session (`boto3.client(...)`, `boto3.resource(...)`) one with the lean data loader;
    once per process (the composition roots call it before they build their clients), or anew with `renew`
    (SnapStart's after-restore hooks: the session caches the credentials it resolved)."""
    import boto3

    if not renew and getattr(boto3.DEFAULT_SESSION, "facesearch_lean", False):
        return
    boto3.setup_default_session(botocore_session=botocore_session())
    boto3.DEFAULT_SESSION.facesearch_lean = True  # type: ignore[union-attr]


def dynamodb_resource() -> Any:
    """A DynamoDB resource with the shared client configuration."""
    import boto3

    lean_boto3()
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
