"""DynamoDB attribute values (`{"S": "x"}`, `{"N": "3"}`, ...) to and from Python values, for low-level clients.

The data path (the gate's registry reads and audit writes, the face store) talks to DynamoDB through
low-level botocore clients (facepolicy.env), not boto3: boto3's import (with s3transfer) and its resource
models cost every cold start 0.05-0.1 s. This is the small codec that takes the place of boto3's
TypeSerializer / TypeDeserializer, with the same mapping:

    None -> NULL, bool -> BOOL, int / Decimal -> N (38 digits, exact), str -> S, bytes -> B,
    Mapping -> M, list / tuple -> L, set of str / numbers / bytes -> SS / NS / BS

Floats are refused (as boto3 refuses them: convert to Decimal first). Numbers read back as Decimal
unless `number` says otherwise (the registry reads ints, the store ints or floats by the text's exponent);
binary values read back as bytes. Every layer carries this module (the policy layer is global).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 significant digits, exponents -130..125; anything inexact is an error, not rounded
NUMBER_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _number_text(value: int | Decimal) -> str:
    text = str(NUMBER_CONTEXT.create_decimal(value))
    if text in ("Infinity", "-Infinity", "NaN", "-NaN", "sNaN", "-sNaN"):
        raise TypeError(f"{text} is not supported as a DynamoDB number")
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def to_value(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value (TypeError for what DynamoDB cannot store)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if _is_number(value):
        return {"N": _number_text(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_value(v) for v in value]}
    if isinstance(value, Set):
        if all(_is_number(v) for v in value):
            return {"NS": [_number_text(v) for v in value]}
        if all(isinstance(v, str) for v in value):
            return {"SS": list(value)}
        if all(isinstance(v, bytes | bytearray) for v in value):
            return {"BS": [bytes(v) for v in value]}
    raise TypeError(f"unsupported type for a DynamoDB attribute value: {type(value).__name__}")


def to_item(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """An item (attribute name -> Python value) as DynamoDB attribute values."""
    return {name: to_value(value) for name, value in item.items()}


def from_value(value: Mapping[str, Any], number: Callable[[str], Any] = Decimal) -> Any:
    """One DynamoDB attribute value as a Python value; `number` turns an N's text into a number."""
    (kind, raw), = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return number(raw)
    if kind == "B":
        return bytes(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_value(v, number) for k, v in raw.items()}
    if kind == "L":
        return [from_value(v, number) for v in raw]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {number(v) for v in raw}
    if kind == "BS":
        return {bytes(v) for v in raw}
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def from_item(item: Mapping[str, Mapping[str, Any]], number: Callable[[str], Any] = Decimal) -> dict[str, Any]:
    """An item of DynamoDB attribute values as plain Python values."""
    return {name: from_value(value, number) for name, value in item.items()}
