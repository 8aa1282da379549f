"""Opaque pagination tokens: base64url JSON with a keyed MAC over (scope, position); no AWS.

A token is only valid for the listing (customer, collection, kind) that issued it; anything else,
including a hand-edited token, raises InvalidToken. The key is FACESTORE_TOKEN_KEY when set: without
it a token can be forged by someone who reads this code, which only moves the start of a listing
inside the caller's own scope.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os

from .errors import InvalidToken

_DEFAULT_KEY = b"facestore-pagination-v1"


def _key() -> bytes:
    value = os.environ.get("FACESTORE_TOKEN_KEY")
    return value.encode() if value else _DEFAULT_KEY


def _mac(scope: str, position: str) -> str:
    msg = f"{scope}\x00{position}".encode()
    return hmac.new(_key(), msg, hashlib.sha256).hexdigest()[:24]


def encode_token(scope: str, position: str) -> str:
    """A token that resumes the listing `scope` after `position` (the last returned sort key)."""
    raw = json.dumps({"p": position, "m": _mac(scope, position)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(scope: str, token: str) -> str:
    """The position inside `scope` that `token` resumes after; InvalidToken unless this store issued it."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, mac = data["p"], data["m"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError) as exc:
        raise InvalidToken("malformed pagination token") from exc
    if not isinstance(position, str) or not isinstance(mac, str):
        raise InvalidToken("malformed pagination token")
    if not hmac.compare_digest(mac, _mac(scope, position)):
        raise InvalidToken("pagination token does not belong to this listing")
    return position


def page_of(keys: list[str], limit: int, next_token: str | None, scope: str) -> tuple[list[str], str | None]:
    """In-memory pagination over sorted `keys`, with the same tokens and semantics as DynamoDB's adapter."""
    start = decode_token(scope, next_token) if next_token else None
    rest = [k for k in keys if start is None or k > start]
    chunk = rest[:limit]
    return chunk, (encode_token(scope, chunk[-1]) if len(rest) > limit else None)
