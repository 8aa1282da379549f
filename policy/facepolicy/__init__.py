"""facepolicy: the policy layer every facesearch entry point calls before any work.

Policy as data (policy.yaml, schema-checked) -> `decide` (pure) -> `PolicyGate` (registry read with a
≤ 60 s cache, audit record, log line, metric; fails closed) -> `requires` (HTTP routes) or
`gate.check(customer_id, "index", ...)` (indexing). Imports: Powertools, PyYAML, jsonschema; boto3
only in `dynamodb.py` and `env.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facepolicy.admin import RegistryAdmin, audit_view, customer_view, key_view
from facepolicy.audit import AuditLog, InMemoryAuditLog, iso_time
from facepolicy.errors import (
    AuditUnavailable,
    CustomerExists,
    CustomerNotFound,
    InvalidCustomer,
    InvalidTransition,
    KeyNotFound,
    MissingPolicyCheck,
    PolicyDenied,
    PolicyError,
    RegistryError,
    RegistryUnavailable,
    VersionConflict,
)
from facepolicy.gate import PolicyGate, deny_metric_name
from facepolicy.http import (
    admin_principal,
    authorizer_customer_id,
    check_policy_before_validation,
    current_customer_id,
    current_decision,
    denied_response,
    register_policy_handlers,
    request_id_of,
    requires,
)
from facepolicy.model import (
    OPERATIONS,
    STATUSES,
    ApiKey,
    AuditRecord,
    Customer,
    Decision,
    IssuedKey,
    Page,
    ReasonCode,
)
from facepolicy.policy import Policy, Rule, decide, load_policy
from facepolicy.registry import (
    CachedRegistry,
    CustomerRegistry,
    InMemoryRegistry,
    RegistryStore,
    hash_api_key,
    new_api_key,
)

if TYPE_CHECKING:
    from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry

__all__ = [
    "OPERATIONS", "STATUSES", "ApiKey", "AuditLog", "AuditRecord", "AuditUnavailable", "CachedRegistry",
    "Customer", "CustomerExists", "CustomerNotFound", "CustomerRegistry", "Decision", "DynamoDBAuditLog",
    "DynamoDBRegistry", "InMemoryAuditLog", "InMemoryRegistry", "InvalidCustomer", "InvalidTransition",
    "IssuedKey", "KeyNotFound", "MissingPolicyCheck", "Page", "Policy", "PolicyDenied", "PolicyError",
    "PolicyGate", "ReasonCode", "RegistryAdmin", "RegistryError", "RegistryStore", "RegistryUnavailable",
    "Rule", "VersionConflict", "admin_principal", "audit_view", "authorizer_customer_id",
    "check_policy_before_validation",
    "current_customer_id",
    "current_decision", "customer_view", "decide", "denied_response", "deny_metric_name", "hash_api_key",
    "iso_time", "key_view", "load_policy", "new_api_key", "register_policy_handlers", "request_id_of",
    "requires",
]


def __getattr__(name: str) -> object:
    """DynamoDB adapters load lazily, so that importing facepolicy does not import boto3."""
    if name in ("DynamoDBRegistry", "DynamoDBAuditLog"):
        from facepolicy import dynamodb

        return getattr(dynamodb, name)
    raise AttributeError(name)
