"""The console function: which files it serves, with which headers (no AWS, events in, responses out)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from facesearch.local.functions import load_module


@pytest.fixture(scope="module")
def staticsite() -> Any:
    load_module("ConsoleFunction")  # puts functions/console on sys.path, as Lambda does
    import staticsite

    return staticsite


def event(proxy: str | None, *, stage: str = "prod", method: str = "GET") -> dict[str, Any]:
    path = "/console" + (f"/{proxy}" if proxy is not None else "")
    out: dict[str, Any] = {"rawPath": f"/{stage}{path}", "requestContext": {"stage": stage, "http": {"method": method}}}
    if proxy is not None:
        out["pathParameters"] = {"proxy": proxy}
    return out


def test_index_is_served_with_the_stage_base_and_a_strict_csp(staticsite: Any) -> None:
    site = staticsite.StaticSite.from_env({"UPLOADS_BUCKET": "facesearch-prod-uploads-1-eu-west-1",
                                           "AWS_REGION": "eu-west-1"})
    for proxy in (None, "index.html"):
        response = site.respond(event(proxy))
        assert response["statusCode"] == 200
        assert '<base href="/prod/console/">' in response["body"]
        headers = response["headers"]
        assert headers["content-type"] == "text/html; charset=utf-8" and headers["cache-control"] == "no-cache"
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert ("connect-src 'self' https://facesearch-prod-uploads-1-eu-west-1.s3.eu-west-1.amazonaws.com "
            "https://facesearch-prod-uploads-1-eu-west-1.s3.amazonaws.com;") in csp
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_the_default_stage_and_the_local_stack_bucket_origin(staticsite: Any) -> None:
    site = staticsite.StaticSite.from_env({"UPLOADS_BUCKET": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:5123"})
    response = site.respond(event(None, stage="$default"))
    assert '<base href="/console/">' in response["body"]
    assert "connect-src 'self' http://127.0.0.1:5123;" in response["headers"]["content-security-policy"]


def test_assets_have_their_types_and_the_pages_no_inline_code(staticsite: Any) -> None:
    site = staticsite.StaticSite()
    for proxy, ctype in (("js/main.js", "text/javascript"), ("style.css", "text/css"),
                         ("favicon.svg", "image/svg+xml")):
        response = site.respond(event(proxy))
        assert response["statusCode"] == 200 and response["headers"]["content-type"].startswith(ctype), proxy
        assert response["headers"]["cache-control"].startswith("public")
    html = site.respond(event("index.html"))["body"]
    assert "<script>" not in html and " style=" not in html and "onclick=" not in html
    assert "http://" not in html and "https://" not in html  # no third-party origin, no CDN, no font


@pytest.mark.parametrize("proxy", ["../app.py", "js/../../app.py", ".hidden", "js/.x.js", "staticsite.py",
                                   "nope.html", "js", "index.html%00.js", "a//b.js", "", "x" * 5000])
def test_anything_else_is_a_404_json_error(staticsite: Any, proxy: str) -> None:
    response = staticsite.StaticSite().respond(event(proxy))
    if proxy == "":  # an empty greedy variable is the index
        assert response["statusCode"] == 200
        return
    assert response["statusCode"] == 404, proxy
    assert response["body"] == '{"code": "RESOURCE_NOT_FOUND", "message": "no such console file"}'


def test_only_get_is_served(staticsite: Any) -> None:
    response = staticsite.StaticSite().respond(event("index.html", method="POST"))
    assert response["statusCode"] == 405 and "METHOD_NOT_ALLOWED" in response["body"]


def test_a_binary_file_goes_out_base64(staticsite: Any, tmp_path: Any) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\nbinary")
    response = staticsite.StaticSite(root=tmp_path.resolve()).respond(event("logo.png"))
    assert response["isBase64Encoded"] and base64.b64decode(response["body"]).startswith(b"\x89PNG")


def test_the_handler_is_glue(staticsite: Any) -> None:
    app = load_module("ConsoleFunction")
    response = app.lambda_handler(event("favicon.svg"), type("Ctx", (), {
        "function_name": "ConsoleFunction", "memory_limit_in_mb": 256, "aws_request_id": "r",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:ConsoleFunction"})())
    assert response["statusCode"] == 200 and "<svg" in response["body"]
