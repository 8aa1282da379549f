"""The one place where exceptions become HTTP responses: every error body is {"code", "message"}.

Domain exceptions (face store, face engine, this API's own request errors) are raised anywhere below
the routes; `register_error_handlers` maps them to a status code and a stable code. A policy deny is
answered by the policy layer's middleware (403 {"code", "message", "rule_id"}) before a route runs.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from faceengine import ImageError, NoFaceError
from facepolicy.http import register_policy_handlers
from facepolicy.quota import LIMIT_EXCEEDED, QuotaExceeded
from facestore.errors import (
    CollectionExists,
    CollectionNotFound,
    FaceNotFound,
    InvalidId,
    InvalidToken,
    ModelVersionMismatch,
    StoreError,
    StoreUnavailable,
    UserExists,
    UserFaceLimitExceeded,
    UserNotFound,
)

logger = Logger(child=True)


# ---------------------------------------------------------------- this API's own errors
class ApiError(Exception):
    """A client error raised by the API itself; the subclass decides the status code below."""

    code = "INVALID_PARAMETER"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidParameter(ApiError):
    code = "INVALID_PARAMETER"


class ImageTooLarge(ApiError):
    code = "IMAGE_TOO_LARGE"


class ResourceNotFound(ApiError):
    """An image or other resource of this API that does not exist (or is another customer's)."""

    code = "RESOURCE_NOT_FOUND"


# ---------------------------------------------------------------- the mapping
_IMAGE_TOO_LARGE_CODES = frozenset({"IMAGE_TOO_LARGE", "TOO_MANY_PIXELS"})

# (exception class, status, code, fixed message or None to use the exception's text); first match wins.
_STORE_ERRORS: tuple[tuple[type[StoreError], HTTPStatus, str, str | None], ...] = (
    (CollectionNotFound, HTTPStatus.NOT_FOUND, "RESOURCE_NOT_FOUND", "the collection does not exist"),
    (FaceNotFound, HTTPStatus.NOT_FOUND, "RESOURCE_NOT_FOUND", "the face does not exist"),
    (UserNotFound, HTTPStatus.NOT_FOUND, "RESOURCE_NOT_FOUND", "the user does not exist"),
    (CollectionExists, HTTPStatus.CONFLICT, "RESOURCE_ALREADY_EXISTS", "the collection already exists"),
    (UserExists, HTTPStatus.CONFLICT, "RESOURCE_ALREADY_EXISTS", "the user already exists"),
    (ModelVersionMismatch, HTTPStatus.CONFLICT, "MODEL_VERSION_MISMATCH", None),
    (UserFaceLimitExceeded, HTTPStatus.BAD_REQUEST, "LIMIT_EXCEEDED", None),
    (InvalidToken, HTTPStatus.BAD_REQUEST, "INVALID_PAGINATION_TOKEN", "the pagination token is not valid"),
    (InvalidId, HTTPStatus.BAD_REQUEST, "INVALID_PARAMETER", None),
    (StoreUnavailable, HTTPStatus.SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE",
     "the face store is temporarily unavailable; retry later"),
)
_API_ERRORS: dict[type[ApiError], HTTPStatus] = {
    InvalidParameter: HTTPStatus.BAD_REQUEST,
    ImageTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ResourceNotFound: HTTPStatus.NOT_FOUND,
}


RETRY_AFTER_SECONDS = "1"


def error_response(status: HTTPStatus, code: str, message: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == HTTPStatus.SERVICE_UNAVAILABLE else None
    return Response(status_code=status.value, content_type=content_types.APPLICATION_JSON, body=json.dumps(body),
                    headers=headers)


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(code, message) for pydantic/Powertools validation errors; no request values are echoed."""
    for err in errors:
        if err.get("type") == "json_invalid":
            reason = str((err.get("ctx") or {}).get("error") or "")
            return "INVALID_JSON", "the request body is not valid JSON" + (f": {reason}" if reason else "")
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "INVALID_PARAMETER", "; ".join(parts)


def register_error_handlers(app: Any) -> None:
    """Register every exception handler on the resolver (the one place status codes are chosen)."""
    register_policy_handlers(app)

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        code, message = validation_message(list(exc.errors()))
        return error_response(HTTPStatus.BAD_REQUEST, code, message)

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response:  # Powertools decodes the body before parsing it
        return error_response(HTTPStatus.BAD_REQUEST, "INVALID_JSON", "the request body is not UTF-8 text")

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response:
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
                              "send the body as application/json")

    @app.exception_handler(ApiError)
    def _api(exc: ApiError) -> Response:
        status = next((s for cls, s in _API_ERRORS.items() if isinstance(exc, cls)), HTTPStatus.BAD_REQUEST)
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(StoreError)
    def _store(exc: StoreError) -> Response:
        for cls, status, code, message in _STORE_ERRORS:
            if isinstance(exc, cls):
                if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                    logger.warning("store unavailable", error_type=type(exc).__name__)
                return error_response(status, code, message or str(exc))
        logger.error("unmapped store error", error_type=type(exc).__name__)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error")

    @app.exception_handler(QuotaExceeded)
    def _quota(exc: QuotaExceeded) -> Response:
        return error_response(HTTPStatus.BAD_REQUEST, LIMIT_EXCEEDED, exc.message, quota=exc.quota, limit=exc.limit)

    @app.exception_handler(ImageError)
    def _image(exc: ImageError) -> Response:
        if exc.code in _IMAGE_TOO_LARGE_CODES:
            return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "IMAGE_TOO_LARGE", exc.message,
                                  reason=exc.code)
        return error_response(HTTPStatus.BAD_REQUEST, "INVALID_IMAGE_FORMAT", exc.message, reason=exc.code)

    @app.exception_handler(NoFaceError)
    def _no_face(exc: NoFaceError) -> Response:
        return error_response(HTTPStatus.BAD_REQUEST, "INVALID_PARAMETER", exc.message, reason=exc.code)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error", error_type=type(exc).__name__)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error")

    @app.not_found
    def _route_not_found(exc: NotFoundError) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "RESOURCE_NOT_FOUND", "no such route")
