"""HTTP API Lambda authorizer (payload 2.0, simple responses): x-api-key -> customer id.

Only identifies the caller; the sector policy is applied by the routes (so that denials carry reason
codes and are audited). The key is hashed at once and never logged.

Wiring: `compose()` is the composition root (a plain function: an authorizer is no resolver and does
not import the event handler); `get_registry()` builds it once per container, on the first request.
Tests replace `get_registry`.
"""

from __future__ import annotations

from facepolicy import runtime

runtime.pause_gc()  # Lambda: no garbage collection during init (facepolicy.runtime); the imports follow

import functools
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from facepolicy.env import key_registry_from_env
from facepolicy.errors import RegistryUnavailable
from facepolicy.registry import CustomerRegistry, hash_api_key

logger = Logger()  # no Tracer: one hash and one cached read do not earn the X-Ray SDK's cold start

API_KEY_HEADER = "x-api-key"


def compose(environ: Mapping[str, str] | None = None) -> CustomerRegistry:
    """The composition root: key lookups on REGISTRY_TABLE over a low-level botocore client (no boto3, no
    resource models: the function's one call does not earn them), cached POLICY_CACHE_SECONDS (facepolicy.env)."""
    return key_registry_from_env(environ)


@functools.cache
def get_registry() -> CustomerRegistry:
    """This container's registry: composed on first use, then shared by every request."""
    with runtime.init_phase():
        return compose()


def _api_key(event: dict[str, Any]) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    value = headers.get(API_KEY_HEADER) or ""
    return value if isinstance(value, str) else ""


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_id = str((event.get("requestContext") or {}).get("requestId", ""))
    secret = _api_key(event)
    if not secret:
        logger.info("authorization refused", reason="missing_key", request_id=request_id)
        return {"isAuthorized": False}
    try:
        customer_id = get_registry().customer_for_key(hash_api_key(secret))
    except RegistryUnavailable as exc:  # fail closed: API Gateway answers 403, the client retries
        logger.error("authorization refused", reason="registry_unavailable", request_id=request_id, error=str(exc))
        return {"isAuthorized": False}
    if customer_id is None:
        logger.info("authorization refused", reason="unknown_or_revoked_key", request_id=request_id)
        return {"isAuthorized": False}
    logger.info("authorized", customer_id=customer_id, request_id=request_id)
    return {"isAuthorized": True, "context": {"customer_id": customer_id}}


runtime.end_init()  # Lambda: what init built is frozen out of later collections, which resume
