"""What an API Gateway HTTP API (payload 2.0) event says about its caller, read without any event handler
(registry_api routes its few admin calls itself; facepolicy.http re-exports these for the resolvers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CUSTOMER_KEY = "customer_id"


def authorizer_customer_id(event: Mapping[str, Any]) -> str:
    """requestContext.authorizer.lambda.customer_id of an HTTP API (payload 2.0) event, or ""."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    value = (authorizer.get("lambda") or {}).get(CUSTOMER_KEY, "")
    return value if isinstance(value, str) else ""


def admin_principal(event: Mapping[str, Any]) -> str:
    """The IAM principal of an IAM-authorized route (userArn, else caller id), or ""."""
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    return str(iam.get("userArn") or iam.get("callerId") or iam.get("userId") or "")


def request_id_of(event: Mapping[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("requestId") or "")
