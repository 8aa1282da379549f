"""The admin API's HTTP plumbing without an event handler: route by API Gateway's routeKey, read the request
(path and query parameters, a guarded JSON body), answer JSON.

API Gateway (HTTP API, payload 2.0) has already matched the route: template.yaml declares each of the
admin API's routes, and the event's `routeKey` ("GET /admin/customers/{customer_id}") names it, with its
`pathParameters`. Query parameters are checked here (`query_int` answers as the pydantic validation did:
"query.limit: Input should be ..."); a body is read as JSON with the policy layer's guards
(facepolicy.request_json: nesting, NaN/Infinity, huge integers) and a size limit, then validated by its
pydantic model, which loads on the first call that has a body. Every refusal is an `HttpError`:
400 BAD_REQUEST, 413 BODY_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE, 404 NOT_FOUND (a routeKey with no route).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from facepolicy.admin_api import error_body
from facepolicy.request_json import loads

MAX_BODY_BYTES = 64 * 1024  # an admin body is a customer's fields: a few hundred bytes
T = TypeVar("T")
Answer = tuple[int, Mapping[str, Any]]
Route = Callable[["Request"], Answer]

_INTEGER = re.compile(r"[+-]?\d+")
_WHOLE_DECIMAL = re.compile(r"[+-]?\d+\.0*")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")


class HttpError(Exception):
    """A refused request: its status and {"code", "message"} body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> HttpError:
    return HttpError(400, "BAD_REQUEST", message)


@dataclass(frozen=True)
class Request:
    """One API Gateway payload-2.0 event, read as the routes need it."""

    event: Mapping[str, Any]

    def path(self, name: str) -> str:
        return str((self.event.get("pathParameters") or {}).get(name, ""))

    def query(self, name: str, default: str = "") -> str:
        value = (self.event.get("queryStringParameters") or {}).get(name)
        return default if value is None else str(value)

    def query_int(self, name: str, default: int, *, ge: int, le: int) -> int:
        """An integer query parameter within [ge, le] (as pydantic's lax int: spaces, a whole '5.0')."""
        raw = (self.event.get("queryStringParameters") or {}).get(name)
        if raw is None:
            return default
        text = str(raw).strip()
        if _INTEGER.fullmatch(text) or _WHOLE_DECIMAL.fullmatch(text):
            value = int(text.split(".")[0])
        elif _DECIMAL.fullmatch(text):
            raise bad_request(f"query.{name}: Input should be a valid integer, got a number with a fractional part")
        else:
            raise bad_request(f"query.{name}: Input should be a valid integer, unable to parse string as an integer")
        if value < ge:
            raise bad_request(f"query.{name}: Input should be greater than or equal to {ge}")
        if value > le:
            raise bad_request(f"query.{name}: Input should be less than or equal to {le}")
        return value

    def json_body(self) -> Any:
        """The body as JSON (None when there is none): 415 unless JSON, 413 over MAX_BODY_BYTES, 400 if it is
        not JSON or is hostile JSON."""
        headers = {str(k).lower(): v for k, v in (self.event.get("headers") or {}).items()}
        content_type = str(headers.get("content-type") or "").strip().lower()
        if content_type and not content_type.startswith("application/json"):
            raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")
        raw = self.event.get("body")
        if raw is None or raw == "":
            return None
        if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:  # too large however it is encoded: never decoded
            raise _too_large()
        try:
            data = base64.b64decode(raw, validate=True) if self.event.get("isBase64Encoded") else str(raw).encode()
        except (binascii.Error, ValueError) as exc:
            raise bad_request("the request body is not valid base64") from exc
        if len(data) > MAX_BODY_BYTES:
            raise _too_large()
        try:
            return loads(data)
        except UnicodeDecodeError as exc:
            raise bad_request("the request body is not UTF-8 text") from exc
        except json.JSONDecodeError as exc:
            raise bad_request(f"the request body is not valid JSON: {exc.msg}") from exc

    def body_as(self, model: type[T]) -> T:
        """The JSON body validated by a pydantic model (its errors as "body.field: message; ...")."""
        from pydantic import ValidationError

        value = self.json_body()
        if value is None:
            raise bad_request("body: Field required")
        try:
            return model.model_validate(value)  # type: ignore[attr-defined, no-any-return]
        except ValidationError as exc:
            details = "; ".join(f"{'.'.join(('body', *(str(p) for p in e['loc'])))}: {e['msg']}"
                                for e in exc.errors())
            raise bad_request(details or "invalid request") from exc


def _too_large() -> HttpError:
    return HttpError(413, "BODY_TOO_LARGE", f"the request body exceeds {MAX_BODY_BYTES} bytes")


class Router:
    """Routes keyed by API Gateway's routeKey; `errors` turns a route's exception into an answer (or None:
    the exception propagates and the invocation fails, as an unexpected error should)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    def route(self, route_key: str) -> Callable[[Route], Route]:
        def register(handler: Route) -> Route:
            self.routes[route_key] = handler
            return handler
        return register

    def resolve(self, event: Mapping[str, Any], errors: Callable[[Exception], Answer | None]) -> dict[str, Any]:
        route_key = str(event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey") or "")
        handler = self.routes.get(route_key)
        try:
            if handler is None:
                raise HttpError(404, "NOT_FOUND", f"no route {route_key!r}")
            status, body = handler(Request(event))
        except HttpError as exc:
            status, body = exc.status, error_body(exc.code, exc.message)
        except Exception as exc:
            answer = errors(exc)
            if answer is None:
                raise
            status, body = answer
        return response(status, body)


def response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP API (payload 2.0) JSON response, as Powertools' resolver shaped them."""
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "cookies": [],
            "body": json.dumps(body, separators=(",", ":"), default=_json_default), "isBase64Encoded": False}


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # as Powertools' encoder
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
