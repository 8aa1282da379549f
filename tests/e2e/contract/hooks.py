"""schemathesis hooks: what a schema cannot say, a client of this API knows.

- `format: byte` fields carry images (a schema cannot say "a decodable JPEG"): generated values are
  real images, so positive cases reach the engine instead of failing to decode;
- an upload ticket (POST .../uploads) is followed by the PUT a client makes, so the image the
  stateful phase then asks about exists, as it would for a real client.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st
from PIL import Image


def _png(size: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (size, size), shade).save(out, "PNG")
    return out.getvalue()


IMAGES = [_png(80, 128), _png(96, 30), _png(120, 220)]  # faceless images: decode, detect, no match
schemathesis.openapi.format("byte", st.sampled_from([base64.b64encode(i).decode() for i in IMAGES]))


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """PUT an image to each upload URL handed out (without its signed Content-Length: moto checks none)."""
    if case.method.upper() != "POST" or not case.path.endswith("/uploads") or response.status_code != 201:
        return
    ticket = response.json()
    headers = {k: v for k, v in ticket["headers"].items() if k.lower() != "content-length"}
    requests.put(ticket["url"], data=IMAGES[0], headers=headers, timeout=30).raise_for_status()
