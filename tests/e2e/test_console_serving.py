"""The local stack serves the console at <endpoint>/console/ through ConsoleFunction, as API Gateway would."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from facesearch.local.process import RunningStack

pytestmark = pytest.mark.e2e


def test_console_is_served_without_a_key_with_its_csp(stack: RunningStack) -> None:
    for url in (f"{stack.endpoint}/console/", f"{stack.endpoint}/console", f"{stack.endpoint}/console/index.html"):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html")
        assert '<base href="/local/console/">' in response.text and 'src="js/main.js"' in response.text
    csp = response.headers["content-security-policy"]
    moto = urlsplit(stack.state["moto_endpoint"])
    assert f"connect-src 'self' {moto.scheme}://{moto.netloc};" in csp and "script-src 'self';" in csp


def test_console_assets_and_missing_files(stack: RunningStack) -> None:
    js = requests.get(f"{stack.endpoint}/console/js/views/search.js", timeout=10)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    missing = requests.get(f"{stack.endpoint}/console/js/nope.js", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "RESOURCE_NOT_FOUND"
    assert requests.post(f"{stack.endpoint}/console/index.html", timeout=10).status_code == 404  # GET routes only
