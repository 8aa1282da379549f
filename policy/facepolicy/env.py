"""The policy layer's settings, read from the Lambda environment in this one place, and the builders
that turn them into adapters (the composition roots of the functions call these).

    dynamodb = botocore_client("dynamodb")       # a low-level client of the process's lean session (no boto3)
    gate = gate_from_env(client=dynamodb, metrics=metrics)   # the gate of a data-path function (botocore only)
    registry = key_registry_from_env()           # the authorizer's cached key lookup (botocore only)
    admin = admin_from_env()                     # registry_api's RegistryAdmin (boto3's Table resource)

`CLIENT_CONFIG` is the one botocore `Config` of every function's AWS clients (this layer is the one
every function carries). Besides `dynamodb.py` (the admin's registry and audit log), the only module of the
layer that touches boto3. `botocore_client` builds low-level clients of one lean botocore session per
process (`lean_session`: a data loader that skips botocore's scan of every service folder, shared by the
clients so each model is read once), without boto3 at all: the authorizer and the data path (gate, face
store) use them with facepolicy.dynamodb_values. `lean_boto3()` gives boto3's default session the same
lean session, for what still uses boto3 (the admin's Table resources).
Endpoint overrides (the local stack, moto server) come through boto3's own AWS_ENDPOINT_URL(_*).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from botocore.config import Config
from botocore.loaders import JSONFileLoader, Loader

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


class _PlainJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader with plain dicts: botocore parses its data files with
    `object_pairs_hook=OrderedDict`, a Python call per JSON object, ~3x slower than the C decoder's own dicts
    (endpoints.json ~19 -> ~7 ms, the S3 model ~17 -> ~6, DynamoDB's ~5 -> ~2, measured on this machine). A
    dict keeps its keys in file order as an OrderedDict does, and botocore's model classes build their own
    OrderedDicts from it; the files read (.json or .json.gz, first found) are the same."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            return json.loads(fp.read().decode("utf-8"))


class _LeanLoader(Loader):
    """botocore's data loader without its start-up scan: before loading any model, botocore lists every one
    of its ~450 service folders, once per kind of file (service-2, endpoint-rule-set-1, resources-1, ...:
    0.02-0.03 s each, 0.05-0.1 s for a function's first clients); this loader checks only the folder of the
    service asked for. The models read are the same files, from the same search paths, parsed into plain
    dicts (_PlainJSONFileLoader)."""

    def __init__(self, data_path: str | None = None) -> None:
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep) if p]
        # AWS_DATA_PATH honoured, as botocore's create_loader does
        super().__init__(extra_search_paths=extra, file_loader=_PlainJSONFileLoader())
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
    """A new botocore session with the lean data loader (credentials, region and AWS_ENDPOINT_URL(_*) from the
    environment, as any session's)."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", _LeanLoader(session.get_config_variable("data_path")))
    return session


_SHARED: dict[str, Any] = {}  # this process's lean session, shared by its clients


def lean_session(*, renew: bool = False) -> Any:
    """This process's lean botocore session: its clients share one loader, so endpoints, partitions and each
    service model are read once per container; anew with `renew` (SnapStart's after-restore hooks: a session
    caches the credentials it resolved)."""
    if renew or "session" not in _SHARED:
        _SHARED["session"] = botocore_session()
    return _SHARED["session"]


def botocore_client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    """A low-level client of the lean session, without boto3: the data path's and the authorizer's clients."""
    return lean_session().create_client(service, config=config)


class LazyClient:
    """A botocore client built on first use (any attribute: an operation, `exceptions`, `meta`, a paginator),
    once, by `factory`: a composition root hands it where a route may never call the service, so a container
    whose first requests do not use it does not pay its model and endpoint rules at init (S3 for face_api:
    ~0.02-0.04 s). Thread-safe; `built` tells whether the client exists yet."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._client is not None

    def client(self) -> Any:
        """The client itself, built now if it is not yet."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    def __getattr__(self, name: str) -> Any:  # only for names this class does not define: the client's
        if name.startswith("__") or name in ("_factory", "_client", "_lock"):
            raise AttributeError(name)  # copy/pickle probes, or a half-built instance: never build for them
        return getattr(self.client(), name)

    def __repr__(self) -> str:
        return f"LazyClient({self._client!r})" if self.built else "LazyClient(not built yet)"


def low_level_dynamodb(client: Any | None = None) -> Any:
    """`client` (a low-level DynamoDB client: attribute values in and out, not a boto3 resource's client,
    which takes plain values), or a new one of the lean session."""
    return client if client is not None else botocore_client("dynamodb")


def lean_boto3(*, renew: bool = False) -> None:
    """Make boto3's default session (`boto3.client(...)`, `boto3.resource(...)`) one with the lean data loader;
    once per process (the composition roots call it before they build their clients), or anew with `renew`
    (SnapStart's after-restore hooks: the session caches the credentials it resolved)."""
    import boto3

    if not renew and getattr(boto3.DEFAULT_SESSION, "facesearch_lean", False):
        return
    boto3.setup_default_session(botocore_session=botocore_session())  # its own: boto3 registers handlers on it
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


def key_registry_from_env(environ: Mapping[str, str] | None = None, client: Any | None = None) -> CachedRegistry:
    """The registry's reads (key and customer) over a low-level client, cached POLICY_CACHE_SECONDS: the
    authorizer's, and the gate's on the data path."""
    from facepolicy.dynamodb_reads import DynamoDBRegistryReader

    settings = PolicySettings.from_env(environ)
    reader = DynamoDBRegistryReader(low_level_dynamodb(client), settings.table("registry_table"))
    return CachedRegistry(reader, ttl_seconds=settings.cache_seconds)


def gate_from_env(environ: Mapping[str, str] | None = None, client: Any | None = None,
                  metrics: MetricsSink | None = None) -> PolicyGate:
    """The data path's gate, without boto3: registry reads, audit records and quota counters over one
    low-level DynamoDB client (`client`: the function's own; a new one of the lean session by default)."""
    from facepolicy.dynamodb_audit import DynamoDBAuditWriter
    from facepolicy.gate import PolicyGate
    from facepolicy.policy import load_policy
    from facepolicy.quota_dynamodb import enforcer_from_env

    settings, dynamodb = PolicySettings.from_env(environ), low_level_dynamodb(client)
    registry = key_registry_from_env(environ, dynamodb)
    audit = DynamoDBAuditWriter(dynamodb, settings.table("audit_table"), retention_days=settings.audit_retention_days)
    return PolicyGate(registry, audit, load_policy(), metrics=metrics,
                      quota=enforcer_from_env(registry, environ, metrics=metrics, client=dynamodb))


def admin_from_env(environ: Mapping[str, str] | None = None, resource: Any | None = None) -> RegistryAdmin:
    from facepolicy.admin import RegistryAdmin
    from facepolicy.policy import load_policy

    _, resource = _parts(environ, resource)
    return RegistryAdmin(registry_from_env(environ, resource), audit_from_env(environ, resource), load_policy())
