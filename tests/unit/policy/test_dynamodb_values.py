"""facepolicy.dynamodb_values, the data path's attribute-value codec, against boto3's own TypeSerializer and
TypeDeserializer (the reference it replaces): same attribute values out, same Python values back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from facepolicy.dynamodb_values import from_item, from_value, to_item, to_value

VALUES: list[Any] = [
    None, True, False, "", "text ü", 0, -7, 10**37, Decimal("3.14"), Decimal("-1E-129"), Decimal("1E+125"),
    b"", b"\x00\xff", bytearray(b"ab"), [], ["a", 1, None, [b"x"]], (1, "t"), {}, {"k": {"n": Decimal("0.5")}},
    {"a", "b"}, {1, Decimal("2.5")}, {b"x", b"y"}, set(),
]


def _plain(value: Any) -> Any:
    """boto3's deserialised value with its Binary wrapper taken off (the codec gives bytes)."""
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def _same(encoded: dict[str, Any]) -> Any:
    """An attribute value with set members in a fixed order, and bytes for boto3's Binary."""
    ((kind, raw),) = encoded.items()
    if kind in ("SS", "NS", "BS"):
        return kind, sorted(_plain(v) for v in raw)
    if kind == "M":
        return kind, {k: _same(v) for k, v in raw.items()}
    if kind == "L":
        return kind, [_same(v) for v in raw]
    return kind, _plain(raw)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_encode_as_boto3_encodes_them(value: Any) -> None:
    assert _same(to_value(value)) == _same(TypeSerializer().serialize(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_decode_as_boto3_decodes_them(value: Any) -> None:
    encoded = TypeSerializer().serialize(value)
    assert from_value(to_value(value)) == _plain(TypeDeserializer().deserialize(encoded))


@pytest.mark.parametrize("value", [1.5, float("nan"), Decimal("NaN"), Decimal("Infinity"), 10**38 + 1,
                                   Decimal("1E+127"), object(), {1, "a"}], ids=repr)
def test_what_dynamodb_cannot_store_is_refused_like_boto3_refuses_it(value: Any) -> None:
    with pytest.raises(Exception) as ours:
        to_value(value)
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(value)
    assert isinstance(ours.value, TypeError | ArithmeticError)
    assert isinstance(theirs.value, TypeError | ArithmeticError)


def test_numbers_read_back_through_the_callers_choice() -> None:
    item = to_item({"n": 3, "x": Decimal("2.50"), "l": [1, {"m": 7}], "ns": {4}})
    assert from_item(item) == {"n": 3, "x": Decimal("2.50"), "l": [1, {"m": 7}], "ns": {4}}
    assert from_item(item, float) == {"n": 3.0, "x": 2.5, "l": [1.0, {"m": 7.0}], "ns": {4.0}}


def test_an_unknown_attribute_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type"):
        from_value({"X": "?"})
