"""facepolicy: the policy layer every facesearch entry point calls before any work.

Policy as data (policy.yaml, schema-checked) -> `decide` (pure, policy.py) -> `PolicyGate` (gate.py:
registry read with a ≤ 60 s cache, audit record, log line, metric; fails closed) -> `requires` and
`PolicyHttpResolver` (http.py, HTTP routes) or `gate.check(customer_id, "index", ...)` (indexing).
Settings and adapters from the environment: env.py. The registry admin: admin.py (+ admin_api.py).

Importing the package imports nothing else: a function imports the modules it uses (the authorizer
needs registry.py and env.py, never the admin, the HTTP helpers, PyYAML or jsonschema). The names
below are re-exported lazily for convenience (typed Any: the layer's own code imports from the
modules). Imports: Powertools, PyYAML, jsonschema; boto3 only in `dynamodb.py` and `env.py`.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    **dict.fromkeys(("RegistryAdmin", "audit_view", "customer_view", "key_view"), "admin"),
    **dict.fromkeys(("AuditLog", "InMemoryAuditLog", "iso_time"), "audit"),
    **dict.fromkeys(("DynamoDBAuditLog", "DynamoDBRegistry"), "dynamodb"),
    **dict.fromkeys(("AuditUnavailable", "CustomerExists", "CustomerNotFound", "InvalidCustomer", "InvalidTransition",
                     "KeyNotFound", "MissingPolicyCheck", "PolicyDenied", "PolicyError", "RegistryError",
                     "RegistryUnavailable", "VersionConflict"), "errors"),
    **dict.fromkeys(("PolicyGate", "deny_metric_name"), "gate"),
    **dict.fromkeys(("PolicyHttpResolver", "admin_principal", "authorizer_customer_id", "current_customer_id",
                     "current_decision", "denied_response", "register_policy_handlers", "request_id_of",
                     "requires"), "http"),
    **dict.fromkeys(("OPERATIONS", "STATUSES", "ApiKey", "AuditRecord", "Customer", "Decision", "IssuedKey", "Page",
                     "ReasonCode"), "model"),
    **dict.fromkeys(("Policy", "Rule", "decide", "load_policy"), "policy"),
    **dict.fromkeys(("CachedRegistry", "CustomerRegistry", "InMemoryRegistry", "RegistryStore", "hash_api_key",
                     "new_api_key"), "registry"),
}

__all__ = [
    "OPERATIONS", "STATUSES", "ApiKey", "AuditLog", "AuditRecord", "AuditUnavailable", "CachedRegistry", "Customer",
    "CustomerExists",
    "CustomerNotFound", "CustomerRegistry", "Decision", "DynamoDBAuditLog", "DynamoDBRegistry", "InMemoryAuditLog",
    "InMemoryRegistry", "InvalidCustomer", "InvalidTransition", "IssuedKey", "KeyNotFound", "MissingPolicyCheck",
    "Page", "Policy", "PolicyDenied", "PolicyError", "PolicyGate", "PolicyHttpResolver", "ReasonCode",
    "RegistryAdmin", "RegistryError", "RegistryStore", "RegistryUnavailable", "Rule", "VersionConflict",
    "admin_principal", "audit_view", "authorizer_customer_id", "current_customer_id", "current_decision",
    "customer_view", "decide", "denied_response", "deny_metric_name", "hash_api_key", "iso_time", "key_view",
    "load_policy", "new_api_key", "register_policy_handlers", "request_id_of", "requires",
]


def __getattr__(name: str) -> Any:
    """`facepolicy.X` imports X's module on first use (PEP 562), so the package import stays free."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'facepolicy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"facepolicy.{module}"), name)
