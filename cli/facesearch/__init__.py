"""facesearch: the Python client and command-line client, the local stack and the demo (none of it is deployed).

    from facesearch import Client, FacesearchError
    client = Client.from_settings()          # FACESEARCH_ENDPOINT / FACESEARCH_API_KEY, else the local stack
    report = client.index("archive", ["photos/"], wait=True, skip_existing=True)

- `client`: the HTTP client of the service (API key; SigV4-signed admin calls); `errors`: its one exception
  hierarchy mirroring the API's codes; `transport`: urllib3 with bounded retries that honour Retry-After.
- `commands/`: the `facesearch` command groups (`cli.py` lists them); print tables, or JSON with --json.
- `local/`: the local stack (moto + an API Gateway v2 adapter + SQS pollers), built from template.yaml; imports
  the functions' handlers the way Lambda would, never their internals.
- `demo`: `make demo`, the story told through the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facesearch.client import Client, IndexReport, UploadResult, content_image_id
    from facesearch.errors import (
        ApiError,
        AuthenticationError,
        ConfigError,
        ConflictError,
        EndpointUnreachableError,
        ExitCode,
        FacesearchError,
        ImageTooLargeError,
        InvalidRequestError,
        InvalidResponseError,
        LimitExceededError,
        NameResolutionError,
        NotFoundError,
        PolicyRefusedError,
        RefusedError,
        RequestTimeoutError,
        ServiceUnavailableError,
        ThrottledError,
        TlsError,
        TransportError,
        UploadFailedError,
        UsageError,
    )
    from facesearch.transport import RetrySettings

# Imported on first use (PEP 562): `facesearch compare` and the local commands never load the HTTP client
# (urllib3 and the client: ~0.1 s of every command's start-up).
_LAZY = {"Client": "client", "IndexReport": "client", "UploadResult": "client", "content_image_id": "client",
         "RetrySettings": "transport"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = __import__(f"facesearch.{_LAZY[name]}", fromlist=[name])
    elif name in __all__:
        module = __import__("facesearch.errors", fromlist=[name])
    else:
        raise AttributeError(f"module 'facesearch' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "ApiError", "AuthenticationError", "Client", "ConfigError", "ConflictError", "EndpointUnreachableError",
    "ExitCode", "FacesearchError", "ImageTooLargeError", "IndexReport", "InvalidRequestError", "InvalidResponseError",
    "LimitExceededError", "NameResolutionError", "NotFoundError", "PolicyRefusedError", "RefusedError",
    "RequestTimeoutError",
    "RetrySettings", "ServiceUnavailableError", "ThrottledError", "TlsError", "TransportError", "UploadFailedError",
    "UploadResult", "UsageError", "content_image_id",
]
