"""The documentation routes: GET /openapi.json and GET /swagger, both serving the finalized contract.

Powertools generates the document from the routes and models (`app.configure_openapi` sets title,
security...); `faceapi.contract.finalize` completes it (error statuses and bodies, API Gateway's own
answers, links) and points `servers` at the stage the request came through.

Both are built on the first request of either route, never at init: the contract module (pydantic's
JSON-schema machinery) and Swagger UI's files load then, so the function's cold start does not pay
for documentation most containers never serve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def document(app: Any) -> dict[str, Any]:
    """The finalized OpenAPI document for the stage of the current request."""
    from faceapi.contract import finalize

    generated: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    stage = str((app.current_event.raw_event.get("requestContext") or {}).get("stage") or "$default")
    return finalize(generated, base_path="/" if stage == "$default" else f"/{stage}")


def add_document_routes(app: Any) -> None:
    """Register GET /openapi.json and GET /swagger (not themselves part of the document)."""

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Any:  # a raw Response: Powertools would model a Response annotation
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                        body=json.dumps(document(app), indent=1))

    @app.get("/swagger", include_in_schema=False)
    def swagger_ui() -> Any:
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

        swagger_files = Path(generate_swagger_html.__code__.co_filename).parent
        spec = json.dumps(document(app)).replace("</", "<\\/")  # never closes the page's script tag
        js = (swagger_files / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
        css = (swagger_files / "swagger-ui.min.css").read_text(encoding="utf-8")
        return Response(status_code=200, content_type="text/html",
                        body=generate_swagger_html(spec, js, css, "", None, False))
