"""Opaque pagination tokens: base64url JSON with a keyed MAC over (scope, position); no AWS.

A token is only valid for the listing (customer, collection, kind) that issued it; anything else,
including a hand-edited token, raises InvalidToken. The key is the store's (StoreSettings.token_key,
from FACESTORE_TOKEN_KEY): without one a token can be forged by someone who reads this code, which
only moves the start of a listing inside the caller's own scope.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from .errors import InvalidToken

DEFAULT_TOKEN_KEY = b"facestore-pagination-v1"


def _mac(scope: str, position: str, key: bytes) -> str:
    msg = f"{scope}\x00{position}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:24]


def encode_token(scope: str, position: str, key: bytes = DEFAULT_TOKEN_KEY) -> str:
    """A token that resumes the listing `scope` after `position` (the last returned sort key)."""
    raw = json.dumps({"p": position, "m": _mac(scope, position, key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(scope: str, token: str, key: bytes = DEFAULT_TOKEN_KEY) -> str:
    """The position inside `scope` that `token` resumes after; InvalidToken unless this store issued it."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, mac = data["p"], data["m"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError) as exc:
        raise InvalidToken("malformed pagination token") from exc
    if not isinstance(position, str) or not isinstance(mac, str):
        raise InvalidToken("malformed pagination token")
    if not hmac.compare_digest(mac, _mac(scope, position, key)):
        raise InvalidToken("pagination token does not belong to this listing")
    return position


def page_of(keys: list[str], limit: int, next_token: str | None, scope: str,
            key: bytes = DEFAULT_TOKEN_KEY) -> tuple[list[str], str | None]:
    """In-memory pagination over sorted `keys`, with the same tokens and semantics as DynamoDB's adapter."""
    start = decode_token(scope, next_token, key) if next_token else None
    rest = [k for k in keys if start is None or k > start]
    chunk = rest[:limit]
    return chunk, (encode_token(scope, chunk[-1], key) if len(rest) > limit else None)
