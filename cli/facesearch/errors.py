"""The client's exceptions: one hierarchy that mirrors the API's error codes, and the CLI exit status of each.

    FacesearchError                     every failure the client reports: .code, .message, .exit_code, .to_dict()
    ├── UsageError                      USAGE (2): wrong arguments
    │   └── ConfigError                 CONFIGURATION (2): no endpoint, key or credentials; a malformed endpoint
    ├── ApiError                        an error answer of the API or its gateway: .status, .body, .retry_after
    │   ├── InvalidRequestError         400  INVALID_PARAMETER, INVALID_JSON, INVALID_IMAGE_FORMAT...
    │   │   └── LimitExceededError           LIMIT_EXCEEDED (a count limit or quota, whatever the status)
    │   ├── ImageTooLargeError          413  IMAGE_TOO_LARGE, REQUEST_TOO_LARGE
    │   ├── ConflictError               409  RESOURCE_ALREADY_EXISTS
    │   ├── NotFoundError               404  RESOURCE_NOT_FOUND                            exit 4
    │   ├── RefusedError                401/403                                             exit 3
    │   │   ├── AuthenticationError     UNAUTHORIZED, FORBIDDEN (a missing, unknown or revoked key)
    │   │   └── PolicyRefusedError      SECTOR_DISALLOWED, CUSTOMER_NOT_ACTIVE, CUSTOMER_UNKNOWN, OPERATION_UNKNOWN
    │   ├── ThrottledError              429  THROTTLED (after the retries; .retry_after)    exit 5
    │   ├── ServiceUnavailableError     5xx  POLICY_UNAVAILABLE, SERVICE_UNAVAILABLE, BAD_GATEWAY, GATEWAY_TIMEOUT,
    │   │                                    INTERNAL_ERROR                                 exit 6
    │   └── UploadFailedError           UPLOAD_FAILED: the storage refused the presigned PUT (S3's code in .message)
    └── TransportError                  no usable answer at all                             exit 6
        ├── EndpointUnreachableError    ENDPOINT_UNREACHABLE (connection refused), CONNECTION_LOST (dropped)
        ├── NameResolutionError         DNS_FAILURE
        ├── TlsError                    TLS_ERROR
        ├── RequestTimeoutError         TIMEOUT
        └── InvalidResponseError        INVALID_RESPONSE (not JSON: a proxy's or portal's page, not the API)

Every class not marked otherwise exits 1. Codes the client does not know are mapped by HTTP status.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Exit status of the `facesearch` command, one per class of failure."""

    OK = 0
    ERROR = 1  # any other failure: a bad request (400), conflict (409), too large (413), files that failed
    USAGE = 2  # wrong arguments or configuration (endpoint, API key, credentials)
    REFUSED = 3  # refused: a missing, unknown or revoked API key, or the policy (SECTOR_DISALLOWED, ...)
    NOT_FOUND = 4  # no such collection, image, face or user
    THROTTLED = 5  # still throttled (429) when the retries ran out
    UNAVAILABLE = 6  # no usable answer: unreachable, DNS, TLS, timeout, 5xx, not JSON
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODES_HELP = """exit status:
  0  success
  1  error: a bad request (400), a conflict (409), too large (413), some files not indexed
  2  usage: wrong arguments, an unconfirmed erasure, or no endpoint / API key / credentials / queue
  3  refused: a missing, unknown or revoked API key (401/403), or the policy (403 SECTOR_DISALLOWED...)
  4  not found (404): no such collection, image, face or user
  5  throttled (429 THROTTLED) after the retries
  6  unavailable: endpoint unreachable, DNS failure, TLS error, timeout, 5xx, a page that is not JSON
130  interrupted (Ctrl-C); `facesearch index ... --skip-existing` resumes"""


class FacesearchError(Exception):
    """Base of every error the client raises."""

    code = "ERROR"
    exit_code = ExitCode.ERROR
    status: int | None = None
    retry_after: float | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{code or self.code}: {message}")
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """`{"code", "message"}` (plus `rule_id` of a policy refusal, `retry_after` when advertised)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


class UsageError(FacesearchError):
    """The command was called wrongly."""

    code = "USAGE"
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The client is missing its endpoint, key or credentials, or the endpoint is not a URL."""

    code = "CONFIGURATION"


class ApiError(FacesearchError):
    """An error answer of the service (or of the gateway in front of it)."""

    status: int  # the HTTP status (0 for a file the client refused before sending it)

    def __init__(self, status: int, code: str, message: str, body: Any = None, *,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def rule_id(self) -> str | None:
        """The policy rule of a refusal, if the answer named one."""
        rule = self.body.get("rule_id") if isinstance(self.body, dict) else None
        return str(rule) if rule else None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.rule_id:
            out["rule_id"] = self.rule_id
        return out


class InvalidRequestError(ApiError):
    """400: the request is wrong (parameters, JSON, image format, a limit); repeating it will not help."""


class LimitExceededError(InvalidRequestError):
    """LIMIT_EXCEEDED: a count limit or quota (faces per user, collections, faces per collection) is reached."""


class ImageTooLargeError(ApiError):
    """413: the image or request is too large."""


class ConflictError(ApiError):
    """409: the resource already exists."""


class NotFoundError(ApiError):
    """404: no such collection, image, face or user (another customer's resources answer the same)."""

    exit_code = ExitCode.NOT_FOUND


class RefusedError(ApiError):
    """401/403: the caller may not do this."""

    exit_code = ExitCode.REFUSED


class AuthenticationError(RefusedError):
    """The gateway refused the API key (missing, unknown or revoked)."""


class PolicyRefusedError(RefusedError):
    """The policy layer refused this customer this operation (audited; `rule_id` names the rule)."""


class ThrottledError(ApiError):
    """429: over the rate or quota; `retry_after` is the wait the service advertised, if any."""

    exit_code = ExitCode.THROTTLED


class ServiceUnavailableError(ApiError):
    """5xx: the service or a dependency could not answer (POLICY_UNAVAILABLE fails closed); retry later."""

    exit_code = ExitCode.UNAVAILABLE


class UploadFailedError(ApiError):
    """The storage refused a presigned upload (size, signature, checksum, expiry)."""


class TransportError(FacesearchError):
    """No usable HTTP answer."""

    code = "CONNECTION_FAILED"
    exit_code = ExitCode.UNAVAILABLE


class EndpointUnreachableError(TransportError):
    """The connection was refused, or dropped before an answer."""

    code = "ENDPOINT_UNREACHABLE"


class NameResolutionError(TransportError):
    """The endpoint's host name does not resolve."""

    code = "DNS_FAILURE"


class TlsError(TransportError):
    """The TLS handshake failed (certificate, protocol)."""

    code = "TLS_ERROR"


class RequestTimeoutError(TransportError):
    """Connecting or reading the answer took longer than the timeout."""

    code = "TIMEOUT"


class InvalidResponseError(TransportError):
    """The answer was not the API's JSON (a proxy's or captive portal's page, a wrong endpoint)."""

    code = "INVALID_RESPONSE"


POLICY_CODES = frozenset({"SECTOR_DISALLOWED", "CUSTOMER_NOT_ACTIVE", "CUSTOMER_UNKNOWN", "OPERATION_UNKNOWN"})

# The gateway's own error bodies are {"message": ...} without a code: the status names it.
GATEWAY_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "RESOURCE_NOT_FOUND",
                 409: "CONFLICT", 413: "REQUEST_TOO_LARGE", 429: "THROTTLED", 500: "INTERNAL_ERROR",
                 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}

_BY_STATUS: dict[int, type[ApiError]] = {400: InvalidRequestError, 401: AuthenticationError,
                                         403: AuthenticationError, 404: NotFoundError, 409: ConflictError,
                                         413: ImageTooLargeError, 429: ThrottledError}


def error_class(status: int, code: str | None) -> type[ApiError]:
    """The exception class of an error answer: the policy's codes first, then the HTTP status."""
    if code in POLICY_CODES:
        return PolicyRefusedError
    if code == "LIMIT_EXCEEDED":
        return LimitExceededError
    if code == "POLICY_UNAVAILABLE" or status >= 500:
        return ServiceUnavailableError
    return _BY_STATUS.get(status, ApiError)


def api_error(status: int, body: Any, *, reason: str = "", retry_after: float | None = None) -> ApiError:
    """The exception for an error answer: `{"code","message"}` from the API, `{"message"}` from the gateway,
    or any other page (the status names it)."""
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code, message = body["code"], str(body.get("message") or "")
    else:
        code = GATEWAY_CODES.get(status, f"HTTP_{status}")
        if isinstance(body, dict) and body.get("message"):
            message = str(body["message"])
        else:
            text = " ".join(str(body or "").split())[:160]
            message = f"HTTP {status} {reason}".strip() + (f" (not JSON: {text})" if text else "")
    return error_class(status, code)(status, code, message, body, retry_after=retry_after)
