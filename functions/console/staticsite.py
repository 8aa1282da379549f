"""The console's static files as API Gateway (payload 2.0) responses: path checks, types, headers.

Only files below `static/` with a known extension are served; anything else (dot files, `..`,
unknown types) is a 404. index.html gets a `<base href>` naming the stage's /console/ path, so that
`/console` and `/console/` both load the same relative assets. Every response carries a strict
Content-Security-Policy: scripts and styles from this origin only (no inline code), connections to
this origin and to the uploads bucket (presigned PUTs and GETs), images from this origin and blob:.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

logger = Logger(child=True)

STATIC_DIR = Path(__file__).resolve().with_name("static")
INDEX = "index.html"
BASE_PLACEHOLDER = "%%BASE_HREF%%"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
}
_TEXT_SUFFIXES = (".html", ".js", ".css", ".svg", ".json")
_SAFE_PATH = re.compile(r"^(?:[A-Za-z0-9_\-]+/)*[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9]+)+$")


def bucket_origins(bucket: str, region: str, endpoint_url: str | None) -> tuple[str, ...]:
    """The origins a browser reaches the uploads bucket at with presigned URLs.

    With an endpoint override (the local stack's moto), that endpoint's origin; on AWS, the bucket's
    virtual-hosted names (regional, and the global one that us-east-1 URLs use).
    """
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()
    if not bucket:
        return ()
    return (f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com")


def content_security_policy(extra_origins: tuple[str, ...]) -> str:
    connect = " ".join(("'self'", *extra_origins))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
            f"connect-src {connect}; font-src 'none'; object-src 'none'; base-uri 'self'; form-action 'none'; "
            "frame-ancestors 'none'; manifest-src 'none'")


@dataclass(frozen=True)
class StaticSite:
    root: Path = STATIC_DIR
    csp: str = field(default_factory=lambda: content_security_policy(()))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StaticSite:
        env = os.environ if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        origins = bucket_origins(env.get("UPLOADS_BUCKET", ""), region, endpoint)
        return cls(csp=content_security_policy(origins))

    def headers(self, content_type: str, *, cache: str) -> dict[str, str]:
        return {
            "content-type": content_type,
            "content-security-policy": self.csp,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
            "cross-origin-opener-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=()",
            "cache-control": cache,
        }

    def resolve(self, relative: str) -> Path | None:
        """The file for a request path below /console/, or None (not found, or not allowed)."""
        relative = relative or INDEX
        if not _SAFE_PATH.fullmatch(relative):
            return None
        path = (self.root / relative).resolve()
        if self.root not in path.parents or path.suffix not in CONTENT_TYPES or not path.is_file():
            return None
        return path

    def respond(self, event: Mapping[str, Any]) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        method = str((context.get("http") or {}).get("method") or "GET").upper()
        relative = str((event.get("pathParameters") or {}).get("proxy") or "")
        if method not in ("GET", "HEAD"):
            return self._error(405, "METHOD_NOT_ALLOWED", "the console serves GET only")
        path = self.resolve(relative)
        if path is None:
            logger.info("console file not found", path=relative[:200])
            return self._error(404, "RESOURCE_NOT_FOUND", "no such console file")
        data = path.read_bytes()
        is_index = path.name == INDEX and path.parent == self.root
        if is_index:
            data = data.replace(BASE_PLACEHOLDER.encode(), base_href(context).encode())
        cache = "no-cache" if is_index else "public, max-age=300"
        headers = self.headers(CONTENT_TYPES[path.suffix], cache=cache)
        if path.suffix in _TEXT_SUFFIXES:
            return {"statusCode": 200, "headers": headers, "body": data.decode("utf-8"), "isBase64Encoded": False}
        return {"statusCode": 200, "headers": headers, "body": base64.b64encode(data).decode("ascii"),
                "isBase64Encoded": True}

    def _error(self, status: int, code: str, message: str) -> dict[str, Any]:
        body = json.dumps({"code": code, "message": message})
        return {"statusCode": status, "headers": self.headers("application/json", cache="no-cache"), "body": body}


def base_href(request_context: Mapping[str, Any]) -> str:
    """`/{stage}/console/` (or `/console/` on the $default stage): where the console's assets live."""
    stage = str(request_context.get("stage") or "$default")
    if stage == "$default" or not re.fullmatch(r"[A-Za-z0-9_\-]{1,128}", stage):
        return "/console/"
    return f"/{stage}/console/"
