"""No photo reaches a log: Powertools formats each route's arguments into a DEBUG line on every request, and a
request model's repr names its base64 photos by their length only (faceapi.models.Request)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .faceapi_helpers import Api, b64, photo


@pytest.mark.parametrize(("event", "body"), [
    ("http_search_by_image", {"image": b64(photo("obama2.jpg"))}),
    ("http_compare", {"source_image": b64(photo("obama.jpg")), "target_image": b64(photo("obama2.jpg"))}),
])
def test_debug_logs_hold_no_photo(api: Api, caplog: pytest.LogCaptureFixture, event: str,
                                  body: dict[str, Any]) -> None:
    # Powertools logs each route's arguments at DEBUG: a request's repr names its photos by their length only
    api.create_collection()
    with caplog.at_level(logging.DEBUG):
        status, answer = api.call(event, body=body)
    assert status == 200, answer
    assert "Calling API Route Handler" in caplog.text  # the line that carried the request is there
    for photo_b64 in (v for v in body.values() if isinstance(v, str)):
        assert photo_b64[1000:1064] not in caplog.text
    assert f"<{len(next(iter(body.values())))} characters>" in caplog.text
