"""How a request is read before the routes see it: its path decoded, its body strictly as JSON.

- `normalized(event)`: path segments percent-decoded (Powertools matches routes on the raw path, so
  `users/user%3Aalice` would otherwise reach validation as `user%3Aalice`); a body declared as
  anything but JSON is marked unsupported, so Powertools refuses it (415) after the policy check
  instead of crashing on a malformed form or multipart body.
- `loads(text)`: the resolver's `json_body_deserializer`, the policy layer's guarded json.loads
  (facepolicy.request_json, shared with registry_api); every refusal is a `json.JSONDecodeError`,
  which Powertools turns into a request validation error (400 INVALID_JSON). Refused: NaN/Infinity
  (not JSON), integers longer than MAX_INT_DIGITS, nesting deeper than MAX_DEPTH. (A body that is not
  UTF-8 fails before this, in Powertools; errors.py answers it with INVALID_JSON.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from facepolicy.request_json import loads

__all__ = ["UNSUPPORTED", "loads", "normalized"]

UNSUPPORTED = "application/x-unsupported"  # a content type Powertools refuses (RequestUnsupportedContentType)


def normalized(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an API Gateway payload-2.0 event with a decoded path and a JSON-or-unsupported body type."""
    out = dict(event)
    raw = str(event.get("rawPath") or "")
    segments = [unquote(part) for part in raw.split("/")]
    if all("/" not in part for part in segments):  # an encoded slash would make a new segment: keep it raw
        out["rawPath"] = "/".join(segments)
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type") or "").strip().lower()
    if content_type and not content_type.startswith("application/json"):
        headers["content-type"] = UNSUPPORTED
    out["headers"] = headers
    return out
