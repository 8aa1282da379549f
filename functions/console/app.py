"""console: the web console's static files, served on the HTTP API's own origin.

Routes (template.yaml): `GET /console` and `GET /console/{proxy+}`, no authorizer: the pages hold no
data; every call they make goes to the API with the key the user typed. Glue only: `staticsite`
resolves the file and sets the headers (a strict Content-Security-Policy among them).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from staticsite import StaticSite

logger = Logger()
site = StaticSite.from_env()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return site.respond(event)
