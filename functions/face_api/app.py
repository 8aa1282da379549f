"""face_api: the customer HTTP API (collections, uploads, faces, search, users, compare, detect).

Glue only: the resolver, its routers (faceapi/routes), error handlers (faceapi/errors) and OpenAPI.
Every route declares its policy operation; the customer id comes from the authorizer context.
"""

from __future__ import annotations

from facepolicy import runtime

runtime.pause_gc()  # Lambda: no garbage collection during init (facepolicy.runtime); the imports follow

from facepolicy.lean_imports import lazy_package

lazy_package("aws_lambda_powertools.event_handler")  # its HTTP resolver without every other resolver's import
lazy_package("aws_lambda_powertools.utilities.data_classes")  # the resolver's event classes, not ~30 event sources'

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from faceapi import request
from faceapi.docs import add_document_routes
from faceapi.errors import register_error_handlers
from faceapi.routes import ROUTERS

from facepolicy.http import PolicyHttpResolver

logger = Logger()
tracer = runtime.tracer()  # Powertools' Tracer only where tracing is switched on (facepolicy.runtime)
metrics = Metrics()
# Most routes count nothing, by design: Powertools' "No application metrics to publish" warning would be a log
# line per container, formatted (source line read) on the first such request
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

TITLE, VERSION = "facesearch", "1.0.0"
DESCRIPTION = ("Face collections, search, users, compare and detect, with a policy layer that refuses "
               "disallowed sectors. Authenticate with the x-api-key header.")
# A plain mapping: Powertools validates it into its OpenAPI models when the document is generated, so
# the (large) openapi.models module is not imported at init.
SECURITY_SCHEMES: dict[str, Any] = {"apiKey": {"type": "apiKey", "name": "x-api-key", "in": "header"}}

# validating; a refused caller gets its audited 403 even with a malformed body; bodies read by faceapi.request
app = PolicyHttpResolver(json_body_deserializer=request.loads)
app.configure_openapi(title=TITLE, version=VERSION, description=DESCRIPTION, security_schemes=SECURITY_SCHEMES,
                      security=[{"apiKey": []}])
register_error_handlers(app)
for router in ROUTERS:
    app.include_router(router)
add_document_routes(app)  # /openapi.json and /swagger: the generated document, completed by faceapi.contract


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(request.normalized(event), context)


runtime.end_init()  # Lambda: what init built is frozen out of later collections, which resume
