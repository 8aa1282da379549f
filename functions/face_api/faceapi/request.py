"""How a request is read before the routes see it: its path decoded, its body strictly as JSON.

- `normalized(event)`: path segments percent-decoded (Powertools matches routes on the raw path, so
  `users/user%3Aalice` would otherwise reach validation as `user%3Aalice`); a body declared as
  anything but JSON is marked unsupported, so Powertools refuses it (415) after the policy check
  instead of crashing on a malformed form or multipart body.
- `loads(text)`: the resolver's `json_body_deserializer`; every refusal is a `json.JSONDecodeError`,
  which Powertools turns into a request validation error (400 INVALID_JSON). Refused: NaN/Infinity
  (not JSON), integers longer than MAX_INT_DIGITS, nesting deeper than MAX_DEPTH. (A body that is not
  UTF-8 fails before this, in Powertools; errors.py answers it with INVALID_JSON.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

MAX_DEPTH = 32  # every request model nests at most 3 levels
MAX_INT_DIGITS = 64
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


def _refuse(message: str, doc: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, doc, 0)


def loads(text: str | bytes) -> Any:
    """json.loads for request bodies; raises json.JSONDecodeError for anything refused."""
    doc = text.decode("utf-8") if isinstance(text, bytes) else text

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise _refuse(f"an integer has more than {MAX_INT_DIGITS} digits", doc)
        return int(digits)

    def parse_constant(name: str) -> Any:
        raise _refuse(f"{name} is not a JSON number", doc)

    try:
        value = json.loads(doc, parse_int=parse_int, parse_constant=parse_constant)
    except RecursionError as exc:
        raise _refuse(f"the body is nested more than {MAX_DEPTH} levels deep", doc) from exc
    if _depth(value) > MAX_DEPTH:
        raise _refuse(f"the body is nested more than {MAX_DEPTH} levels deep", doc)
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
