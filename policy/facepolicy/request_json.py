"""Request bodies read strictly as JSON, for every HTTP function (face_api's resolver, registry_api's routes).

`loads(text)` is json.loads that refuses what a hostile or broken client can send and json.loads would
take or choke on: NaN/Infinity (not JSON), integers longer than MAX_INT_DIGITS (Python's int conversion is
quadratic), nesting deeper than MAX_DEPTH (a RecursionError, or a deep structure for the validators).
Every refusal is a `json.JSONDecodeError` with a message that says why, so callers answer it as they
answer malformed JSON (a 400 with a reason code). Size limits are the caller's: they differ per API.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # every request model nests at most 3 levels
MAX_INT_DIGITS = 64


def _refuse(message: str, doc: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, doc, 0)


def loads(text: str | bytes) -> Any:
    """json.loads for request bodies; raises json.JSONDecodeError for anything refused (and
    UnicodeDecodeError for bytes that are not UTF-8)."""
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
