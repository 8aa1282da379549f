"""Error answers of the admin HTTP API (functions/registry_api; erase_customer answers the same way): the
status of each registry error and the {"code", "message"} body. No pydantic here: the request models are
in admin_requests, loaded only by the routes that take a body.
"""

from __future__ import annotations

from facepolicy.errors import (
    AuditUnavailable,
    CustomerExists,
    CustomerNotFound,
    InvalidCustomer,
    InvalidTransition,
    KeyNotFound,
    RegistryError,
    RegistryUnavailable,
    VersionConflict,
)

STATUS_OF: dict[type[Exception], int] = {
    InvalidCustomer: 400, CustomerNotFound: 404, KeyNotFound: 404,
    CustomerExists: 409, VersionConflict: 409, InvalidTransition: 409,
}


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def registry_error_status(exc: RegistryError) -> int:
    return next((status for kind, status in STATUS_OF.items() if isinstance(exc, kind)), 400)


def unavailable_body(exc: RegistryUnavailable | AuditUnavailable) -> dict[str, str]:
    return error_body("SERVICE_UNAVAILABLE", "the registry or audit log is unavailable; retry later")
