"""An emulation of DynamoDB's SearchVectors on moto (moto 5.2.5 ignores vector indexes and answers
SearchVectors "Not yet implemented"). It is an emulation, not DynamoDB's engine:

- CreateTable remembers the table's `VectorIndexes`; DescribeTable reports them ACTIVE, not backfilling;
- SearchVectors searches *exactly*: the cosine distance (1 - cosine: 0 identical ... 2 opposite) of the
  query to every item of the requested HASH value that carries a vector of the index's dimension,
  sorted ascending, TopK of them, with the index's projection (KEYS_ONLY, INCLUDE or ALL); request
  and response shapes follow botocore's service model; errors are ValidationException /
  ResourceNotFoundException as DynamoDB answers them;
- `lag_seconds`: an item written less than this long ago is not yet in the index (DynamoDB replicates
  into the index asynchronously), so freshness logic can be tested. Deletes leave the emulated index
  at once (the engine's consistent re-read is what guarantees it on AWS).

install() patches moto in this process (the local stack's ThreadedMotoServer and `mock_aws` alike);
uninstall() restores it. Used by the local stack and the functional tests of both search engines.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from moto import backend_index
from moto.core.responses import ActionResult
from moto.dynamodb import urls as dynamodb_urls
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import table as table_models
from moto.dynamodb.responses import DynamoHandler

_lock = threading.Lock()
_originals: dict[str, Any] = {}
_indexes: dict[str, list[dict[str, Any]]] = {}  # table name -> VectorIndexes as created
_written: dict[tuple[str, str, str], float] = {}  # (table, hash, range) -> monotonic time of the last put
_settings: dict[str, float] = {"lag_seconds": 0.0}
_SEARCH_HOST = r"https?://search-dynamodb\.(.+)\.amazonaws\.com"  # botocore's endpoint for SearchVectors
_CONDITION = re.compile(r"^\s*(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)\s*$")


def _key(table: Any, attrs: dict[str, Any]) -> tuple[str, str, str]:
    def value(name: str | None) -> str:
        v = attrs.get(name) if name else None
        return str(getattr(v, "value", "")) if v is not None else ""
    return (table.name, value(table.hash_key_attr), value(getattr(table, "range_key_attr", None)))


def _create_table(self: DynamoHandler) -> Any:
    result = _originals["create_table"](self)
    vector_indexes = self.body.get("VectorIndexes")
    if vector_indexes:
        _indexes[self.body["TableName"]] = [dict(v) for v in vector_indexes]
    return result


def _describe_table(self: DynamoHandler) -> Any:
    result = _originals["describe_table"](self)
    indexes = _indexes.get(self.body.get("TableName", ""))
    if indexes and isinstance(result.result, dict) and "Table" in result.result:
        result.result["Table"]["VectorIndexes"] = [
            {**v, "IndexStatus": "ACTIVE", "Backfilling": False} for v in indexes]
    return result


def _put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    item = _originals["put_item"](self, item_attrs, *args, **kwargs)
    _written[_key(self, item.attrs)] = time.monotonic()
    return item


def _number_list(value: Any, dims: int) -> list[float] | None:
    if not isinstance(value, list) or len(value) != dims:
        return None
    try:
        out = [float(v["N"]) for v in value]
    except (KeyError, TypeError, ValueError):
        return None
    return out if all(math.isfinite(x) for x in out) else None


def _cosine_distance(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return 2.0 if na == 0 or nb == 0 else 1.0 - dot / (na * nb)


def _project(attrs: dict[str, Any], keys: list[str], index: dict[str, Any]) -> dict[str, Any]:
    projection = index.get("Projection", {})
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return attrs
    wanted = set(keys) | ({*projection.get("NonKeyAttributes", [])} if kind == "INCLUDE" else set())
    return {k: v for k, v in attrs.items() if k in wanted}


def _search_vectors(self: DynamoHandler) -> ActionResult:
    body = self.body
    name = body.get("TableName", "")
    table = self.dynamodb_backend.get_table(name)  # ResourceNotFoundException when missing
    index = next((v for v in _indexes.get(name, []) if v.get("IndexName") == body.get("IndexName")), None)
    if index is None:
        raise MockValidationException(f"The table does not have the specified vector index: {body.get('IndexName')}")
    dims = int(index["Dimensions"])
    query = _number_list(body.get("SearchVector"), dims)
    if query is None:
        raise MockValidationException(f"SearchVector must be a list of {dims} numbers")
    top_k = int(body.get("TopK", 0))
    if top_k < 1:
        raise MockValidationException("TopK must be at least 1")
    hash_attr = next((e["AttributeName"] for e in index.get("SearchSchema", [])
                      if e.get("SearchSchemaElementType") == "HASH"), None)
    wanted: dict[str, Any] | None = None
    if hash_attr is not None:
        match = _CONDITION.match(body.get("SearchConditionExpression") or "")
        if match is None:
            raise MockValidationException(
                "SearchConditionExpression must be provided when SearchSchema has a HASH key")
        attr = (body.get("ExpressionAttributeNames") or {}).get(match[1], match[1])
        wanted = (body.get("ExpressionAttributeValues") or {}).get(match[2])
        if attr != hash_attr or wanted is None:
            raise MockValidationException("SearchConditionExpression must be an equality on the HASH attribute")
    vector_attr = index["VectorAttribute"]["AttributeName"]
    keys = [a for a in (table.hash_key_attr, getattr(table, "range_key_attr", None), hash_attr) if a]
    lag, now = _settings["lag_seconds"], time.monotonic()
    scored: list[tuple[float, dict[str, Any]]] = []
    for item in table.all_items():
        attrs = item.to_json()["Attributes"]
        if wanted is not None and attrs.get(hash_attr) != wanted:
            continue
        vector = _number_list(attrs.get(vector_attr, {}).get("L"), dims)
        if vector is None:
            continue
        if lag and now - _written.get(_key(table, item.attrs), 0.0) < lag:
            continue
        scored.append((_cosine_distance(query, vector), attrs))
    scored.sort(key=lambda s: s[0])
    results = [{"Item": _project(attrs, keys, index), "Score": score} for score, attrs in scored[:top_k]]
    return ActionResult({"SearchResults": results})


def set_lag(seconds: float) -> None:
    """Items written less than `seconds` ago are not yet searchable (0: at once)."""
    _settings["lag_seconds"] = max(0.0, float(seconds))


def install(*, lag_seconds: float = 0.0) -> None:
    """Patch moto (idempotent)."""
    set_lag(lag_seconds)
    with _lock:
        if _originals:
            return
        patches: dict[str, tuple[Any, str, Callable[..., Any]]] = {
            "create_table": (DynamoHandler, "create_table", _create_table),
            "describe_table": (DynamoHandler, "describe_table", _describe_table),
            "put_item": (table_models.Table, "put_item", _put_item),
        }
        for key, (owner, attr, replacement) in patches.items():
            _originals[key] = getattr(owner, attr)
            setattr(owner, attr, replacement)
        DynamoHandler.search_vectors = _search_vectors  # type: ignore[attr-defined]
        dynamodb_urls.url_bases.append(_SEARCH_HOST)  # mock_aws: route the search endpoint to DynamoDB
        backend_index.backend_url_patterns.insert(0, ("dynamodb", re.compile(_SEARCH_HOST)))


def uninstall() -> None:
    """Restore moto's own functions (remembered indexes are forgotten)."""
    with _lock:
        if not _originals:
            return
        DynamoHandler.create_table = _originals.pop("create_table")  # type: ignore[method-assign]
        DynamoHandler.describe_table = _originals.pop("describe_table")  # type: ignore[method-assign]
        table_models.Table.put_item = _originals.pop("put_item")  # type: ignore[method-assign]
        if hasattr(DynamoHandler, "search_vectors"):
            delattr(DynamoHandler, "search_vectors")
        if _SEARCH_HOST in dynamodb_urls.url_bases:
            dynamodb_urls.url_bases.remove(_SEARCH_HOST)
        backend_index.backend_url_patterns[:] = [
            p for p in backend_index.backend_url_patterns if p[1].pattern != _SEARCH_HOST]
        _indexes.clear()
        _written.clear()
