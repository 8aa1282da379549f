"""The HTTP contract beyond the request/response models: every status a route answers, with its body.

Powertools generates the OpenAPI document from the routes and models; `finalize` completes it so that
it says what the API does and nothing else:

- every route documents its success (from its return model) and the errors it can answer, chosen by
  rule (`error_statuses`): a path parameter can be missing (404), a body can be too large (413), a
  create can conflict and a search meet another face model (409); every route can be refused
  (401/403), throttled (429) or fail (500/503);
- a status answered both by the function (`{"code", "message"}`) and by API Gateway itself
  (`{"message"}` only: its authorizer's 401/403, 413 over the payload limit, 429 from stage
  throttling, 5xx when the function fails) has `oneOf` both shapes; the shapes are disjoint
  (`additionalProperties: false`), so exactly one matches;
- Powertools' 422 (this API answers 400 for invalid requests) and its unused validation schemas go;
- links for stateful clients: a created collection, user or upload leads to the routes that use it;
- `servers` is the stage's base path, so a client resolving the document's URL reaches the API.

To document a new status (e.g. a 429 of the function's own), change `STATUSES`; a new route needs
nothing here unless it creates something (`CONFLICTS`, `LINKS`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
METHODS = ("get", "put", "post", "delete", "patch")


# ---------------------------------------------------------------- error bodies
class ErrorBody(BaseModel):
    """An error answered by the function: a stable code and a message."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"code": "RESOURCE_NOT_FOUND", "message": "the collection does not exist"},
                     {"code": "INVALID_IMAGE_FORMAT", "message": "not a JPEG or PNG image", "reason": "UNSUPPORTED"}]})

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", examples=["INVALID_PARAMETER"])
    message: str
    reason: str | None = Field(default=None, description="The face engine's code for an unusable image.")
    quota: str | None = Field(default=None, description="LIMIT_EXCEEDED / THROTTLED: which quota.")
    limit: int | None = Field(default=None, description="LIMIT_EXCEEDED / THROTTLED: its limit.")
    retry_after: int | None = Field(default=None, description="THROTTLED: seconds to wait (also Retry-After).")


class PolicyDenial(BaseModel):
    """A refusal by the usage policy (403), or the registry being unreadable (503 POLICY_UNAVAILABLE)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"code": "SECTOR_DISALLOWED", "message": "law_enforcement may not use search",
                      "rule_id": "no-identification-for-law-enforcement", "policy_version": 3,
                      "policy_sha256": "9f2c4e6a0b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e"}]})

    code: Literal["CUSTOMER_UNKNOWN", "CUSTOMER_NOT_ACTIVE", "SECTOR_DISALLOWED", "OPERATION_UNKNOWN",
                  "POLICY_UNAVAILABLE"]
    message: str
    rule_id: str | None = Field(description="The policy rule that refused the call (null when no rule applies).")
    policy_version: int = Field(ge=0, description="The version of the policy file that decided (0: none loaded).")
    policy_sha256: str = Field(description="SHA-256 of that policy file (empty when none was loaded).")


class GatewayError(BaseModel):
    """An answer of API Gateway itself (authorizer refusal, payload limit, throttling, function failure)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message": "Unauthorized"}]})

    message: str = Field(examples=["Forbidden"])


ERROR_MODELS: tuple[type[BaseModel], ...] = (ErrorBody, PolicyDenial, GatewayError)


@dataclass(frozen=True)
class Status:
    """One documented error status: what it means and the bodies it may carry (one of them)."""

    description: str
    bodies: tuple[type[BaseModel], ...]
    headers: Mapping[str, Any] = field(default_factory=dict)


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying (sent by the function).",
                               "schema": {"type": "integer", "minimum": 0}}}

STATUSES: dict[int, Status] = {
    400: Status("Invalid request: INVALID_PARAMETER, INVALID_JSON (not UTF-8, not JSON, too deeply nested), "
                "INVALID_IMAGE_FORMAT (with the engine's `reason`), INVALID_PAGINATION_TOKEN, LIMIT_EXCEEDED.",
                (ErrorBody,)),
    401: Status("API Gateway: the x-api-key header is missing.", (GatewayError,)),
    403: Status("Refused by the usage policy (`code` is the reason, with `rule_id`; audited), or by API Gateway "
                "for an unknown or revoked key (`{\"message\": \"Forbidden\"}`).", (PolicyDenial, GatewayError)),
    404: Status("RESOURCE_NOT_FOUND: no such collection, face, user or image (in the path, or an uploaded image "
                "named by `s3_object`) for this customer (another "
                "customer's answers the same), or API Gateway's `{\"message\": \"Not Found\"}` for a path "
                "that matches no route.", (ErrorBody, GatewayError)),
    409: Status("RESOURCE_ALREADY_EXISTS (a create), or MODEL_VERSION_MISMATCH (a search of a collection "
                "indexed with another face model).", (ErrorBody,)),
    413: Status("IMAGE_TOO_LARGE (over 5 MB in the body, 15 MB uploaded, or too many pixels), or API Gateway "
                "/ Lambda's payload limit (`{\"message\": \"Request Entity Too Large\"}`).",
                (ErrorBody, GatewayError)),
    415: Status("UNSUPPORTED_MEDIA_TYPE: the body is not sent as application/json.", (ErrorBody,)),
    429: Status("THROTTLED: over the customer's rate quota (quota, limit, retry_after; Retry-After), nothing "
                "processed; or API Gateway's stage throttling (`{\"message\": \"Too Many Requests\"}`): retry "
                "with backoff.", (ErrorBody, GatewayError), RETRY_AFTER),
    500: Status("INTERNAL_ERROR, or API Gateway's `{\"message\": \"Internal Server Error\"}` when the function "
                "failed.", (ErrorBody, GatewayError)),
    503: Status("Retry later: POLICY_UNAVAILABLE (the customer registry cannot be read: refused, never "
                "processed) or SERVICE_UNAVAILABLE (the face store), both with Retry-After; or API Gateway's "
                "`{\"message\": \"Service Unavailable\"}`.", (PolicyDenial, ErrorBody, GatewayError), RETRY_AFTER),
}

# Every route: refused, throttled, failing; and 400 for its parameters or body.
ALWAYS = (400, 401, 403, 429, 500, 503)
# Routes that create what may already exist.
CONFLICTS = frozenset({("post", "/collections"), ("post", "/collections/{collection_id}/users")})


def error_statuses(method: str, path: str, operation: Mapping[str, Any]) -> list[int]:
    """The error statuses of one operation, by rule."""
    statuses = set(ALWAYS)
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.update((413, 415))
    if (method, path) in CONFLICTS or "/search" in path:  # a search may meet another face model's vectors
        statuses.add(409)
    return sorted(statuses)


# ---------------------------------------------------------------- links (stateful clients and testers)
COLLECTION = {"collection_id": "$request.path.collection_id"}
LINKS: dict[tuple[str, str], dict[str, tuple[str, str, dict[str, str], Any]]] = {
    ("post", "/collections"): {
        name: (method, path, {"collection_id": "$response.body#/collection_id"}, None)
        for name, method, path in (
            ("DescribeCollection", "get", "/collections/{collection_id}"),
            ("ListFaces", "get", "/collections/{collection_id}/faces"),
            ("CreateUpload", "post", "/collections/{collection_id}/uploads"),
            ("CreateUser", "post", "/collections/{collection_id}/users"),
            ("ListUsers", "get", "/collections/{collection_id}/users"),
            ("DeleteCollection", "delete", "/collections/{collection_id}"),
        )},
    ("post", "/collections/{collection_id}/users"): {
        name: (method, path, {**COLLECTION, "user_id": "$response.body#/user_id"}, None)
        for name, method, path in (
            ("AssociateFaces", "post", "/collections/{collection_id}/users/{user_id}/faces"),
            ("DisassociateFaces", "delete", "/collections/{collection_id}/users/{user_id}/faces"),
            ("SearchSimilarUsers", "post", "/collections/{collection_id}/users/{user_id}/search"),
            ("DeleteUser", "delete", "/collections/{collection_id}/users/{user_id}"),
        )},
    ("post", "/collections/{collection_id}/uploads"): {
        "GetImageStatus": ("get", "/collections/{collection_id}/images/{image_id}",
                           {**COLLECTION, "image_id": "$response.body#/image_id"}, None),
        "SearchWithUpload": ("post", "/collections/{collection_id}/search", COLLECTION,
                             {"s3_object": {"image_id": "$response.body#/image_id"}}),
    },
}


# ---------------------------------------------------------------- the document
def finalize(document: dict[str, Any], *, base_path: str | None = None) -> dict[str, Any]:
    """The generated document (as a dict), completed as the module docstring says. Pure: returns a copy."""
    doc = copy.deepcopy(document)
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema([(m, "validation") for m in ERROR_MODELS], ref_template=REF)
    schemas.update(defs.get("$defs", {}))
    operation_ids = {(method, path): op.get("operationId")
                     for path, item in doc.get("paths", {}).items() for method, op in item.items() if method in METHODS}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            success = {code: r for code, r in responses.items() if str(code).startswith("2")}
            responses.clear()
            responses.update(success)
            for status in error_statuses(method, path, operation):
                responses[str(status)] = _error_response(STATUSES[status])
            for code in success:
                links = _links(LINKS.get((method, path), {}), operation_ids)
                if links:
                    responses[code]["links"] = links
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    if base_path is not None:
        doc["servers"] = [{"url": base_path, "description": "this stage of the API"}]
    return doc


def _error_response(status: Status) -> dict[str, Any]:
    refs = [{"$ref": REF.format(model=m.__name__)} for m in status.bodies]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    response: dict[str, Any] = {"description": status.description, "content": {"application/json": {"schema": schema}}}
    if status.headers:
        response["headers"] = copy.deepcopy(dict(status.headers))
    return response


def _links(spec: Mapping[str, tuple[str, str, dict[str, str], Any]],
           operation_ids: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for name, (method, path, parameters, body) in spec.items():
        target = operation_ids.get((method, path))
        if not target:  # a route not deployed: no dangling link
            continue
        link: dict[str, Any] = {"operationId": target, "parameters": dict(parameters)}
        if body is not None:
            link["requestBody"] = body
        links[name] = link
    return links
