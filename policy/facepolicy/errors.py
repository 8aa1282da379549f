"""Exceptions of the policy layer. Adapters translate backend errors into these at the boundary."""

from __future__ import annotations

from facepolicy.model import Decision


class PolicyError(Exception):
    """The policy file is missing, malformed or inconsistent (the service must not start)."""


class RegistryUnavailable(Exception):
    """The customer registry could not be read or written (decisions fail closed)."""


class AuditUnavailable(Exception):
    """The audit log could not be written or read."""


class RegistryError(Exception):
    """Base of the registry's client errors (bad input, missing or conflicting records)."""

    code = "BAD_REQUEST"


class InvalidCustomer(RegistryError):
    code = "INVALID_CUSTOMER"


class CustomerNotFound(RegistryError):
    code = "CUSTOMER_NOT_FOUND"


class CustomerExists(RegistryError):
    code = "CUSTOMER_EXISTS"


class KeyNotFound(RegistryError):
    code = "KEY_NOT_FOUND"


class VersionConflict(RegistryError):
    code = "VERSION_CONFLICT"


class InvalidTransition(RegistryError):
    code = "INVALID_TRANSITION"


class PolicyDenied(Exception):
    """Raised by PolicyGate.enforce when the decision is a deny; carries the decision."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"{decision.reason_code}: {decision.message}")
        self.decision = decision


class MissingPolicyCheck(RuntimeError):
    """A route asked for the customer but has no policy check (a programming error, never a 403)."""
