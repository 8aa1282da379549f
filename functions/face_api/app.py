"""face_api: the customer HTTP API (collections, uploads, faces, search, users, compare, detect).

Glue only: the resolver, its routers (faceapi/routes), error handlers (faceapi/errors) and OpenAPI.
Every route declares its policy operation; the customer id comes from the authorizer context.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from faceapi.errors import register_error_handlers
from faceapi.routes import ROUTERS

from facepolicy import runtime
from facepolicy.http import PolicyHttpResolver

logger = Logger()
tracer = runtime.tracer()  # Powertools' Tracer only where tracing is switched on (facepolicy.runtime)
metrics = Metrics()

TITLE, VERSION = "facesearch", "1.0.0"
DESCRIPTION = ("Face collections, search, users, compare and detect, with a policy layer that refuses "
               "disallowed sectors. Authenticate with the x-api-key header.")
# A plain mapping: Powertools validates it into its OpenAPI models when the document is generated, so
# the (large) openapi.models module is not imported at init.
SECURITY_SCHEMES: dict[str, Any] = {"apiKey": {"type": "apiKey", "name": "x-api-key", "in": "header"}}

app = PolicyHttpResolver()  # validating; a refused caller gets its audited 403 even with a malformed body
app.configure_openapi(title=TITLE, version=VERSION, description=DESCRIPTION, security_schemes=SECURITY_SCHEMES,
                      security=[{"apiKey": []}])
app.enable_swagger(path="/swagger", title=TITLE, version=VERSION, description=DESCRIPTION,
                   security_schemes=SECURITY_SCHEMES, security=[{"apiKey": []}])
register_error_handlers(app)
for router in ROUTERS:
    app.include_router(router)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Any:  # a raw Response (not a model): the document as Powertools generates it
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=app.get_openapi_json_schema())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
