"""DynamoDBFaceStore: the face-store port on the FacesTable (single-table design, low-level client).

Item shapes (pk / sk; every key carries the customer id, ids never contain '#'):

  collection   CUST#{customer}            COLL#{collection}    counts, version, snapshot_version, log_floor
  face         COLL#{customer}#{coll}     FACE#{face_id}       image, box, landmarks, quality, emb (B, 512 B
                                                               float32 LE), model_version, user_id?
  image        COLL#{customer}#{coll}     IMG#{image_id}       status fields?, seq (padded sequencer),
                                                               face_set (SS, faces stored for the image),
                                                               tombstone? (deleted image)
  user         COLL#{customer}#{coll}     USER#{user_id}       face_ids (SS, at most 100), created_at
  change       COLL#{customer}#{coll}     CHANGE#{v:012d}      ids (L): faces touched by version v
  erased       COLL#{customer}#{coll}     ERASED#{face_id}     a deleted face: never stored again
  shard        COLL#{customer}#{coll}#{generation}#{n}   SHARD   face_count (a sharded collection's counter n)

Erasure stays erased: deleting a face writes its ERASED# tombstone in the deleting transaction, and
every face write carries a ConditionCheck that the face's tombstone does not exist, so no redelivered
or late event brings it back. A write for a given collection generation (the random token set when
the collection is created) is conditioned on the collection item still having it, so a collection
deleted and re-created under the same id never receives faces or statuses from the old one's events.

Every face write is one transaction: the face items, their image items, the collection item
(exact face_count, version+1, conditioned on the version read: optimistic locking) and the change
item for the new version, so the change log has exactly one item per version and the vector index
reads a delta with one Query. Conflicts are retried; persistent contention raises StoreUnavailable.

Sharded collections (`shards` > 0 on the collection item: served by the vector engine, which needs
no change log) take that transaction off the collection item: each face write adds its face-count
delta to one of `shards` counter items chosen at random, each its own partition key, conditioned on
that shard existing (it exists only for the collection's current generation, so the generation check
comes with it). face_count = the collection item's face_count (frozen when it was sharded) + the sum
of its shards. No collection version is bumped and no change item is written, so no single item
serialises the collection's writes. Sharding is one-way (`shard_collection`, or born sharded with
`shards=` on the store); the exact engine does not serve a sharded collection.
gsi1 is not used.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from facepolicy.dynamodb_values import from_value, to_value

from .errors import (
    ChangeLogCompacted,
    CollectionExists,
    CollectionNotFound,
    StaleEvent,
    StoreError,
    StoreUnavailable,
    UserExists,
    UserFaceLimitExceeded,
    UserNotFound,
)
from .ids import (
    check_faces,
    check_key_id,
    check_last_id,
    check_limit,
    embedding_bytes,
    embedding_from_bytes,
    new_generation,
    normalize_sequencer,
    utc_now_iso,
)
from .model import (
    ASSOCIATED_TO_A_DIFFERENT_USER,
    ASSOCIATED_TO_AN_EXISTING_USER,
    DEFAULT_SHARDS,
    FACE_NOT_FOUND,
    MAX_FACES_PER_USER,
    Collection,
    Face,
    FaceDelta,
    ImageStatus,
    User,
)
from .tokens import DEFAULT_TOKEN_KEY, decode_token, encode_token
from .vector_search import VECTOR_ATTRIBUTE, vector_numbers

logger = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionConflictException",
    "TransactionInProgressException", "LimitExceededException",
    # cancellation reason codes of a transaction
    "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError",
})
MAX_TX_ITEMS = 100
MAX_SHARDS = MAX_TX_ITEMS - 1  # sharding is one transaction: the collection item and every shard
_STATUS_FIELDS = ("status", "reason_code", "message", "face_ids", "unindexed", "external_image_id",
                  "version_id", "sequencer", "updated_at")


def _to_ddb(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_ddb(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_ddb(v) for v in value]
    return value


def _number(text: str) -> int | float:
    """A stored number as the store's models take it: int when its text has no fraction, else float."""
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def _ser(item: dict[str, Any]) -> dict[str, Any]:
    return {k: to_value(_to_ddb(v)) for k, v in item.items() if v is not None}


def _des(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_value(v, _number) for k, v in item.items()}


def _v(value: Any) -> dict[str, Any]:
    return to_value(_to_ddb(value))


def _cust_pk(customer_id: str) -> str:
    return f"CUST#{check_key_id(customer_id, 'customer_id')}"


def _coll_pk(customer_id: str, collection_id: str) -> str:
    check_key_id(customer_id, "customer_id")
    check_key_id(collection_id, "collection_id")
    return f"COLL#{customer_id}#{collection_id}"


collection_pk = _coll_pk  # the face items' partition key: the vector index's HASH (facestore.vector_search)


def _shard_key(meta: Collection, n: int) -> dict[str, Any]:
    """Counter shard n of this incarnation (generation) of the collection: its own partition key."""
    return _ser({"pk": f"{_coll_pk(meta.customer_id, meta.collection_id)}#{meta.generation or '-'}#{n}",
                 "sk": "SHARD"})


def _change_sk(version: int) -> str:
    return f"CHANGE#{version:012d}"


def _collection(item: dict[str, Any]) -> Collection:
    return Collection(
        customer_id=item["customer_id"], collection_id=item["collection_id"], created_at=item["created_at"],
        model_version=item["model_version"], face_count=int(item.get("face_count", 0)),
        user_count=int(item.get("user_count", 0)), version=int(item.get("version", 0)),
        defaults=dict(item.get("defaults", {})), snapshot_version=int(item.get("snapshot_version", 0)),
        log_floor=int(item.get("log_floor", 0)), generation=str(item.get("generation", "")),
        vector_ready=bool(item.get("vec_ready", False)), shards=int(item.get("shards", 0)),
    )


def _face_item(face: Face, pk: str) -> dict[str, Any]:
    return {
        "pk": pk, "sk": f"FACE#{face.face_id}", "type": "FACE", "customer_id": face.customer_id,
        "collection_id": face.collection_id, "face_id": face.face_id, "image_id": face.image_id,
        "external_image_id": face.external_image_id, "box": {k: float(v) for k, v in face.box.items()},
        "landmarks": [dict(lm) for lm in face.landmarks], "confidence": float(face.confidence),
        "quality": {k: float(v) for k, v in face.quality.items()}, "emb": embedding_bytes(face.embedding),
        VECTOR_ATTRIBUTE: vector_numbers(face.embedding),
        "model_version": face.model_version, "indexed_at": face.indexed_at or utc_now_iso(),
    }


def _face(item: dict[str, Any]) -> Face:
    return Face(
        customer_id=item["customer_id"], collection_id=item["collection_id"], face_id=item["face_id"],
        image_id=item["image_id"], external_image_id=item.get("external_image_id"),
        box={k: float(v) for k, v in item.get("box", {}).items()},
        landmarks=tuple(item.get("landmarks", [])), confidence=float(item.get("confidence", 0.0)),
        quality={k: float(v) for k, v in item.get("quality", {}).items()},
        embedding=embedding_from_bytes(item["emb"]), model_version=item.get("model_version", ""),
        indexed_at=item.get("indexed_at", ""), user_id=item.get("user_id"),
    )


def _user(item: dict[str, Any]) -> User:
    return User(item["customer_id"], item["collection_id"], item["user_id"],
                tuple(sorted(item.get("face_ids", set()))), item.get("created_at", ""))


def _status(item: dict[str, Any]) -> ImageStatus | None:
    if "status" not in item or item.get("tombstone"):
        return None
    return ImageStatus(
        customer_id=item["customer_id"], collection_id=item["collection_id"], image_id=item["image_id"],
        status=item["status"], reason_code=item.get("reason_code"), message=item.get("message"),
        face_ids=tuple(item.get("face_ids", [])), unindexed=tuple(item.get("unindexed", [])),
        external_image_id=item.get("external_image_id"), version_id=item.get("version_id"),
        sequencer=item.get("sequencer"), updated_at=item.get("updated_at", ""),
    )


class _Cancelled(Exception):
    """A cancelled transaction: the reason code of each item, in order ('None' when it passed)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(",".join(codes))
        self.codes = codes


class DynamoDBFaceStore:
    """The FaceStore port on DynamoDB (see facestore.port.FaceStore for each method's contract).

    `table_resource_or_client`: a low-level DynamoDB client (facepolicy.env.botocore_client), service
    resource or Table resource (its client is used); `table_name` may be omitted for a Table resource.
    """

    def __init__(self, table_resource_or_client: Any, table_name: str | None = None, *,
                 max_attempts: int = 12, sleep: Callable[[float], None] = time.sleep,
                 token_key: bytes = DEFAULT_TOKEN_KEY, shards: int = 0) -> None:
        meta = getattr(table_resource_or_client, "meta", None)
        client = getattr(meta, "client", None) or table_resource_or_client
        if table_name is None:
            table_name = getattr(table_resource_or_client, "name", None)
        if not table_name:
            raise ValueError("table_name is required")
        self._client = client
        self._table = table_name
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._token_key = token_key
        if not 0 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 0..{MAX_SHARDS}")
        self._new_shards = shards  # collections this store creates are born with them (0: versioned)
        self._shards_of: dict[tuple[str, str, str], int] = {}  # (customer, collection, generation) -> shards

    # -------------------------------------------------------------- low level
    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, op)(TableName=self._table, **kwargs) \
                if op != "transact_write_items" and op != "batch_get_item" and op != "batch_write_item" \
                else getattr(self._client, op)(**kwargs)
            return result
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if any(c in TRANSIENT_CODES for c in codes) or not codes:
                    raise _Cancelled(["TransactionConflict"]) from exc
                raise _Cancelled(codes) from exc
            if code == "ConditionalCheckFailedException":
                raise
            if code in TRANSIENT_CODES:
                logger.warning("dynamodb transient error", extra={"op": op, "code": code})
                raise StoreUnavailable(f"{op}: {code}") from exc
            logger.error("dynamodb error", extra={"op": op, "code": code})
            raise StoreError(f"{op}: {code}") from exc
        except (ConnectionError, HTTPClientError) as exc:
            logger.warning("dynamodb unreachable", extra={"op": op, "error": type(exc).__name__})
            raise StoreUnavailable(f"{op}: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            logger.error("dynamodb client error", extra={"op": op, "error": type(exc).__name__})
            raise StoreUnavailable(f"{op}: {type(exc).__name__}") from exc

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(0.5, 0.01 * (2 ** attempt)) * random.random())  # noqa: S311 (jitter)

    def _attempts(self, what: str) -> Iterator[int]:
        for attempt in range(self._max_attempts):
            if attempt:
                self._backoff(attempt)
            yield attempt
        logger.warning("dynamodb contention", extra={"op": what, "attempts": self._max_attempts})
        raise StoreUnavailable(f"{what}: too much contention")

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=_ser({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
        return _des(item) if item else None

    def _meta(self, customer_id: str, collection_id: str) -> Collection:
        check_key_id(collection_id, "collection_id")
        item = self._get(_cust_pk(customer_id), f"COLL#{collection_id}")
        if item is None:
            raise CollectionNotFound(collection_id)
        return _collection(item)

    def _counted_meta(self, customer_id: str, collection_id: str) -> Collection:
        """The collection with its exact face_count: plus its shards' (strongly consistent) if sharded."""
        meta = self._meta(customer_id, collection_id)
        if not meta.shards:
            return meta
        request: dict[str, Any] = {self._table: {
            "Keys": [_shard_key(meta, n) for n in range(meta.shards)], "ConsistentRead": True,
            "ProjectionExpression": "face_count"}}
        total = meta.face_count
        for attempt in range(self._max_attempts):
            if attempt:
                self._backoff(attempt)
            resp = self._call("batch_get_item", RequestItems=request)
            found = resp.get("Responses", {}).get(self._table, [])
            total += sum(int(i.get("face_count", {}).get("N", "0")) for i in found)
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return replace(meta, face_count=total)
        raise StoreUnavailable("batch_get_item: unprocessed keys")

    def _batch_get(self, pk: str, sks: Sequence[str], *, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
        """Items by sort key (strongly consistent), missing ones absent; `skip`: attributes not decoded."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(sks))
        for i in range(0, len(unique), 100):
            keys = [_ser({"pk": pk, "sk": sk}) for sk in unique[i:i + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(self._max_attempts):
                if attempt:
                    self._backoff(attempt)
                resp = self._call("batch_get_item", RequestItems=request)
                for raw in resp.get("Responses", {}).get(self._table, []):
                    item = _des({k: v for k, v in raw.items() if k not in skip} if skip else raw)
                    found[item["sk"]] = item
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable("batch_get_item: unprocessed keys")
        return found

    def _query(self, pk: str, low: str | None, high: str | None, *, limit: int | None = None,
               start_after: str | None = None) -> Iterator[dict[str, Any]]:
        """Items of `pk` with low <= sk <= high (all if None; strongly consistent), in sort-key order."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": _ser({":pk": pk, ":lo": low, ":hi": high}),
            "ConsistentRead": True,
        }
        if low is None or high is None:
            kwargs["KeyConditionExpression"] = "pk = :pk"
            kwargs["ExpressionAttributeValues"] = _ser({":pk": pk})
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = _ser({"pk": pk, "sk": start_after})
        while True:
            if limit is not None:
                kwargs["Limit"] = limit
            resp = self._call("query", **kwargs)
            for raw in resp.get("Items", []):
                yield _des(raw)
            if not resp.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _page(self, pk: str, prefix: str, limit: int, next_token: str | None, scope: str
              ) -> tuple[list[dict[str, Any]], str | None]:
        check_limit(limit)
        start = decode_token(scope, next_token, self._token_key) if next_token else None
        items: list[dict[str, Any]] = []
        for item in self._query(pk, prefix, prefix + "\U0010ffff", limit=limit + 1,
                                start_after=prefix + start if start is not None else None):
            items.append(item)
            if len(items) > limit:
                break
        if len(items) > limit:
            return items[:limit], encode_token(scope, items[limit - 1]["sk"][len(prefix):], self._token_key)
        return items, None

    def _delete_items(self, keys: Sequence[dict[str, str]]) -> None:
        for i in range(0, len(keys), 25):
            request: dict[str, Any] = {self._table: [
                {"DeleteRequest": {"Key": _ser(k)}} for k in keys[i:i + 25]]}
            for attempt in range(self._max_attempts):
                if attempt:
                    self._backoff(attempt)
                request = self._call("batch_write_item", RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable("batch_write_item: unprocessed items")

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            next(iter(item.values()))["TableName"] = self._table
        self._call("transact_write_items", TransactItems=items)

    def _versioned(self, meta: Collection, ops: list[dict[str, Any]], touched: Sequence[str],
                   face_delta: int, generation: str | None = None) -> list[dict[str, Any]]:
        """ops + the collection update (version+1, exact face_count, if still at meta.version and, when
        given, still of `generation`) + change item."""
        new_version = meta.version + 1
        condition = "attribute_exists(pk) AND version = :old"
        values: dict[str, Any] = {":new": new_version, ":old": meta.version, ":delta": face_delta}
        if generation is not None:
            condition += " AND generation = :gen"
            values[":gen"] = generation
        return [*ops, {
            "Update": {
                "Key": _ser({"pk": _cust_pk(meta.customer_id), "sk": f"COLL#{meta.collection_id}"}),
                "UpdateExpression": "SET version = :new ADD face_count :delta",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": _ser(values),
            }}, {
            "Put": {
                "Item": _ser({"pk": _coll_pk(meta.customer_id, meta.collection_id),
                              "sk": _change_sk(new_version), "type": "CHANGE", "version": new_version,
                              "ids": list(touched), "at": utc_now_iso()}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }}]

    def _counted(self, meta: Collection, ops: list[dict[str, Any]], touched: Sequence[str],
                 face_delta: int, generation: str | None = None) -> list[dict[str, Any]]:
        """ops + what keeps the count and refuses writes to a deleted (or other generation of the)
        collection: `_versioned` for a versioned collection; for a sharded one, the face-count delta
        on one shard at random (a ConditionCheck when it is 0), conditioned on that shard existing."""
        if not meta.shards:
            return self._versioned(meta, ops, touched, face_delta, generation)
        if generation is not None and generation != meta.generation:
            raise CollectionNotFound(meta.collection_id)
        key = _shard_key(meta, random.randrange(meta.shards))  # noqa: S311 (load spreading, not security)
        if not face_delta:
            return [*ops, {"ConditionCheck": {"Key": key, "ConditionExpression": "attribute_exists(pk)"}}]
        return [*ops, {"Update": {"Key": key, "UpdateExpression": "ADD face_count :delta",
                                  "ConditionExpression": "attribute_exists(pk)",
                                  "ExpressionAttributeValues": _ser({":delta": face_delta})}}]

    def shard_collection(self, customer_id: str, collection_id: str, shards: int = DEFAULT_SHARDS) -> Collection:
        """Make the collection's writes sharded (one-way, idempotent): its counter shards are created
        and its item records how many; from then on no write touches the collection item. Writes
        in flight keep the count exact (each adds to the item or to a shard). Raises CollectionNotFound."""
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1..{MAX_SHARDS}")
        for _ in self._attempts("shard_collection"):
            meta = self._meta(customer_id, collection_id)
            if meta.shards:
                return meta
            sharded = replace(meta, shards=shards)
            try:
                self._transact([
                    {"Update": {"Key": _ser({"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}"}),
                                "UpdateExpression": "SET shards = :n",
                                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(shards)"
                                                       " AND generation = :gen",
                                "ExpressionAttributeValues": _ser({":n": shards, ":gen": meta.generation})}},
                    *self._shard_puts(sharded)])
            except _Cancelled:
                continue  # sharded or deleted meanwhile: re-read
            logger.info("collection sharded", extra={"customer_id": customer_id, "collection_id": collection_id,
                                                     "shards": shards})
            return sharded
        raise StoreUnavailable("shard_collection")  # pragma: no cover (_attempts raises)

    def _shard_puts(self, meta: Collection) -> list[dict[str, Any]]:
        return [{"Put": {"Item": {**_shard_key(meta, n), **_ser({"type": "SHARD", "face_count": 0})}}}
                for n in range(meta.shards)]

    # -------------------------------------------------------------- collections
    def create_collection(
        self, customer_id: str, collection_id: str, model_version: str, defaults: dict[str, object] | None = None
    ) -> Collection:
        check_key_id(collection_id, "collection_id")
        meta = Collection(customer_id, collection_id, utc_now_iso(), model_version, defaults=dict(defaults or {}),
                          generation=new_generation(), shards=self._new_shards)
        item = {"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}", "type": "COLLECTION",
                "customer_id": customer_id, "collection_id": collection_id, "created_at": meta.created_at,
                "model_version": model_version, "face_count": 0, "user_count": 0, "version": 0,
                "snapshot_version": 0, "log_floor": 0, "defaults": meta.defaults, "generation": meta.generation,
                "vec_ready": True}  # its faces all get `vec`: no backfill needed (facestore.vector_backfill)
        try:
            if meta.shards:  # born sharded: the item and its counter shards at once
                item["shards"] = meta.shards
                self._transact([{"Put": {"Item": _ser(item), "ConditionExpression": "attribute_not_exists(pk)"}},
                                *self._shard_puts(meta)])
            else:
                self._call("put_item", Item=_ser(item), ConditionExpression="attribute_not_exists(pk)")
        except _Cancelled as exc:
            if exc.codes == ["TransactionConflict"]:
                raise StoreUnavailable("create_collection: conflict") from exc
            raise CollectionExists(collection_id) from exc
        except ClientError as exc:
            raise CollectionExists(collection_id) from exc
        logger.info("collection created", extra={"customer_id": customer_id, "collection_id": collection_id})
        return meta

    def get_collection(self, customer_id: str, collection_id: str, *, counts: bool = True) -> Collection | None:
        try:
            return self._counted_meta(customer_id, collection_id) if counts else self._meta(customer_id, collection_id)
        except CollectionNotFound:
            return None

    def list_collections(
        self, customer_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Collection], str | None]:
        items, token = self._page(_cust_pk(customer_id), "COLL#", limit, next_token,
                                  f"collections|{customer_id}")
        found = [_collection(i) for i in items]
        return [self._counted_meta(customer_id, c.collection_id) if c.shards else c for c in found], token

    def delete_collection(self, customer_id: str, collection_id: str) -> None:
        check_key_id(collection_id, "collection_id")
        try:
            old = self._call("delete_item", Key=_ser({"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}"}),
                             ConditionExpression="attribute_exists(pk)", ReturnValues="ALL_OLD")
        except ClientError as exc:
            raise CollectionNotFound(collection_id) from exc
        pk = _coll_pk(customer_id, collection_id)
        meta = _collection(_des(old["Attributes"])) if old.get("Attributes") else None
        if meta is not None and meta.shards:  # first the shards: writes in flight are refused from here on
            self._delete_items([{k: v["S"] for k, v in _shard_key(meta, n).items()} for n in range(meta.shards)])
        keys = [{"pk": pk, "sk": i["sk"]} for i in self._query(pk, None, None)]
        self._delete_items(keys)
        logger.info("collection deleted", extra={"customer_id": customer_id, "collection_id": collection_id,
                                                 "items": len(keys)})

    # -------------------------------------------------------------- faces
    def put_faces(
        self, customer_id: str, collection_id: str, faces: Sequence[Face], *, sequencer: str | None = None,
        generation: str | None = None,
    ) -> list[str]:
        faces = check_faces(customer_id, collection_id, faces)
        seq = normalize_sequencer(sequencer) if sequencer else None
        if seq is not None and len({f.image_id for f in faces}) > 1:
            raise ValueError("put_faces with a sequencer takes the faces of one image")
        created: list[str] = []
        for chunk in _chunks(faces, lambda fs: 2 * len(fs) + len({f.image_id for f in fs}) + 2):
            created += self._put_chunk(customer_id, collection_id, chunk, seq, generation)
        if created:
            logger.info("faces stored", extra={"customer_id": customer_id, "collection_id": collection_id,
                                               "created": len(created), "skipped": len(faces) - len(created)})
        return created

    def _put_chunk(self, customer_id: str, collection_id: str, faces: list[Face], seq: str | None,
                   generation: str | None) -> list[str]:
        pk = _coll_pk(customer_id, collection_id)
        image_key = f"IMG#{faces[0].image_id}" if faces else ""
        read = self._batch_get(pk, [image_key, *(f"ERASED#{f.face_id}" for f in faces)] if faces else [])
        recorded = str(read.get(image_key, {}).get("seq", ""))
        if seq is not None and recorded > seq:  # a newer create or the image's deletion is recorded
            raise StaleEvent(faces[0].image_id)
        pending = [f for f in faces if f"ERASED#{f.face_id}" not in read]
        for _ in self._attempts("put_faces"):
            meta = self._meta(customer_id, collection_id)
            if generation is not None and meta.generation != generation:
                raise CollectionNotFound(collection_id)  # the event's collection was deleted (and re-created)
            if not pending:
                return []
            ops: list[dict[str, Any]] = [{"Put": {"Item": _ser(_face_item(f, pk)),
                                                  "ConditionExpression": "attribute_not_exists(pk)"}}
                                         for f in pending]
            images = list(dict.fromkeys(f.image_id for f in pending))
            for image_id in images:
                ids = {f.face_id for f in pending if f.image_id == image_id}
                update: dict[str, Any] = {
                    "Key": _ser({"pk": pk, "sk": f"IMG#{image_id}"}),
                    "UpdateExpression": "ADD face_set :ids SET customer_id = :c, collection_id = :k, image_id = :i",
                    "ExpressionAttributeValues": _ser({":ids": ids, ":c": customer_id, ":k": collection_id,
                                                       ":i": image_id}),
                }
                if seq is not None:
                    update["UpdateExpression"] += ", seq = :seq"
                    update["ConditionExpression"] = "attribute_not_exists(seq) OR seq <= :seq"
                    update["ExpressionAttributeValues"][":seq"] = _v(seq)
                ops.append({"Update": update})
            ops += [{"ConditionCheck": {"Key": _ser({"pk": pk, "sk": f"ERASED#{f.face_id}"}),
                                        "ConditionExpression": "attribute_not_exists(pk)"}} for f in pending]
            try:
                self._transact(self._counted(meta, ops, [f.face_id for f in pending], len(pending), generation))
                return [f.face_id for f in pending]
            except _Cancelled as exc:
                codes = exc.codes
                if codes == ["TransactionConflict"]:
                    continue
                if seq is not None and codes[len(pending)] == "ConditionalCheckFailed":
                    raise StaleEvent(images[0]) from exc
                checks = codes[len(pending) + len(images):]  # the ERASED# checks, one per pending face
                pending = [f for i, (f, c) in enumerate(zip(pending, codes, strict=False))
                           if c != "ConditionalCheckFailed"
                           and (i >= len(checks) or checks[i] != "ConditionalCheckFailed")]
        return []  # pragma: no cover (_attempts raises)

    def delete_faces(
        self, customer_id: str, collection_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        self._meta(customer_id, collection_id)
        pk = _coll_pk(customer_id, collection_id)
        wanted = list(dict.fromkeys(face_ids))
        failed: dict[str, str] = {}
        deletable: list[dict[str, Any]] = []
        items = self._batch_get(pk, [f"FACE#{f}" for f in wanted if "#" not in f])
        for face_id in wanted:
            item = items.get(f"FACE#{face_id}")
            if item is None:
                failed[face_id] = FACE_NOT_FOUND
            elif item.get("user_id"):
                failed[face_id] = ASSOCIATED_TO_AN_EXISTING_USER
            else:
                deletable.append(item)
        deleted, more = self._remove(customer_id, collection_id, deletable, allow_associated=False)
        failed.update(more)
        return deleted, [(f, failed[f]) for f in wanted if f in failed]

    def _remove(self, customer_id: str, collection_id: str, items: list[dict[str, Any]], *,
                allow_associated: bool, tombstone: str | None = None) -> tuple[list[str], dict[str, str]]:
        """Delete face items (and their image/user references) in versioned transactions."""
        pk = _coll_pk(customer_id, collection_id)
        deleted: list[str] = []
        failed: dict[str, str] = {}

        def size(chunk: list[dict[str, Any]]) -> int:  # each face: its delete and its ERASED# tombstone
            return 2 * len(chunk) + len({i["image_id"] for i in chunk}) + len(
                {i["user_id"] for i in chunk if i.get("user_id")}) + 2

        for chunk in _chunks(items, size):
            pending = chunk
            for _ in self._attempts("delete_faces"):
                if not pending:
                    break
                meta = self._meta(customer_id, collection_id)
                ops: list[dict[str, Any]] = []
                for item in pending:
                    cond = "attribute_exists(pk)"
                    if not allow_associated:
                        cond += " AND attribute_not_exists(user_id)"
                    ops.append({"Delete": {"Key": _ser({"pk": pk, "sk": item["sk"]}), "ConditionExpression": cond}})
                tombstones = [{"Put": {"Item": _ser({"pk": pk, "sk": f"ERASED#{i['face_id']}", "type": "ERASED",
                                                     "image_id": i["image_id"], "at": utc_now_iso()})}}
                              for i in pending]
                for image_id in dict.fromkeys(i["image_id"] for i in pending):
                    ids = {i["face_id"] for i in pending if i["image_id"] == image_id}
                    ops.append({"Update": {"Key": _ser({"pk": pk, "sk": f"IMG#{image_id}"}),
                                           "UpdateExpression": "DELETE face_set :ids",
                                           "ExpressionAttributeValues": _ser({":ids": ids})}})
                for user_id in dict.fromkeys(i["user_id"] for i in pending if i.get("user_id")):
                    ids = {i["face_id"] for i in pending if i.get("user_id") == user_id}
                    ops.append({"Update": {"Key": _ser({"pk": pk, "sk": f"USER#{user_id}"}),
                                           "UpdateExpression": "DELETE face_ids :ids",
                                           "ConditionExpression": "attribute_exists(pk)",
                                           "ExpressionAttributeValues": _ser({":ids": ids})}})
                try:  # the tombstones go last: the cancellation codes of the deletes keep their positions
                    self._transact(self._counted(meta, ops + tombstones, [i["face_id"] for i in pending],
                                                 -len(pending)))
                    deleted += [i["face_id"] for i in pending]
                    break
                except _Cancelled as exc:
                    if exc.codes == ["TransactionConflict"]:
                        continue
                    # re-read the faces whose condition failed: gone, or associated meanwhile
                    current = self._batch_get(pk, [i["sk"] for i in pending])
                    still: list[dict[str, Any]] = []
                    for item in pending:
                        now = current.get(item["sk"])
                        if now is None:
                            failed[item["face_id"]] = FACE_NOT_FOUND
                        elif now.get("user_id") and not allow_associated:
                            failed[item["face_id"]] = ASSOCIATED_TO_AN_EXISTING_USER
                        else:
                            still.append(now)
                    pending = still
        if deleted:
            logger.info("faces deleted", extra={"customer_id": customer_id, "collection_id": collection_id,
                                                "deleted": len(deleted)})
        return deleted, failed

    def get_face(self, customer_id: str, collection_id: str, face_id: str) -> Face | None:
        if "#" in face_id:
            return None
        item = self._get(_coll_pk(customer_id, collection_id), f"FACE#{face_id}")
        return _face(item) if item else None

    def list_faces(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Face], str | None]:
        self._meta(customer_id, collection_id)
        items, token = self._page(_coll_pk(customer_id, collection_id), "FACE#", limit, next_token,
                                  f"faces|{customer_id}|{collection_id}")
        return [_face(i) for i in items], token

    def live_faces(self, customer_id: str, collection_id: str, face_ids: Sequence[str]) -> list[Face]:
        """Search hits' faces that exist now (strongly consistent), in the order given: embedding and what
        a match shows, without landmarks and quality (not decoded: a query re-reads up to hundreds)."""
        pk = _coll_pk(customer_id, collection_id)
        ids = [f for f in dict.fromkeys(face_ids) if "#" not in f]
        found = self._batch_get(pk, [f"FACE#{f}" for f in ids], skip=(VECTOR_ATTRIBUTE, "landmarks", "quality"))
        return [_face(found[f"FACE#{f}"]) for f in ids if f"FACE#{f}" in found]

    def faces_of_image(self, customer_id: str, collection_id: str, image_id: str) -> list[Face]:
        pk = _coll_pk(customer_id, collection_id)
        image = self._get(pk, f"IMG#{check_last_id(image_id, 'image_id')}")
        ids = sorted(image.get("face_set", set())) if image else []
        found = self._batch_get(pk, [f"FACE#{f}" for f in ids])
        return [_face(found[f"FACE#{f}"]) for f in ids if f"FACE#{f}" in found]

    # -------------------------------------------------------------- images
    def put_image_status(self, status: ImageStatus, *, only_if_newer: bool = True,
                         generation: str | None = None) -> bool:
        pk = _coll_pk(status.customer_id, status.collection_id)
        check_last_id(status.image_id, "image_id")
        fields: dict[str, Any] = {
            "customer_id": status.customer_id, "collection_id": status.collection_id,
            "image_id": status.image_id, "status": status.status, "reason_code": status.reason_code,
            "message": status.message, "face_ids": list(status.face_ids),
            "unindexed": [dict(u) for u in status.unindexed], "external_image_id": status.external_image_id,
            "version_id": status.version_id, "sequencer": status.sequencer,
            "updated_at": status.updated_at or utc_now_iso(),
        }
        if status.sequencer:
            fields["seq"] = normalize_sequencer(status.sequencer)
        sets = {k: v for k, v in fields.items() if v is not None}
        removes = [k for k in (*_STATUS_FIELDS, "tombstone") if k not in sets]
        names = {f"#{k}": k for k in [*sets, *removes]}
        values = _ser({f":{k}": v for k, v in sets.items()})
        expr = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expr += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        kwargs: dict[str, Any] = {}
        if only_if_newer and "seq" in sets:
            kwargs["ConditionExpression"] = "attribute_not_exists(#seq) OR #seq <= :seq"
        update = {"Key": _ser({"pk": pk, "sk": f"IMG#{status.image_id}"}), "UpdateExpression": expr,
                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values, **kwargs}
        try:
            if generation is None:
                self._call("update_item", **update)
            else:  # only while the collection is still the generation the event was for
                self._transact([{"Update": update}, self._generation_check(status, generation)])
        except _Cancelled as exc:
            if exc.codes == ["TransactionConflict"]:
                raise StoreUnavailable("put_image_status: conflict") from exc
            logger.info("image status of a stale event or an older collection ignored", extra={
                "customer_id": status.customer_id, "collection_id": status.collection_id, "image_id": status.image_id})
            return False
        except ClientError:
            logger.info("stale image status ignored", extra={"customer_id": status.customer_id,
                                                            "collection_id": status.collection_id,
                                                            "image_id": status.image_id})
            return False
        return True

    def _generation_check(self, status: ImageStatus, generation: str) -> dict[str, Any]:
        """A ConditionCheck that the collection is still `generation`: on the collection item, or for a
        sharded collection on one of its shards (they exist only for their generation), so status
        writes of a sharded collection do not meet on one item either."""
        key = (status.customer_id, status.collection_id, generation)
        shards = self._shards_of.get(key)
        if shards is None:
            try:
                meta = self._meta(status.customer_id, status.collection_id)
            except CollectionNotFound:
                meta = None
            shards = meta.shards if meta is not None and meta.generation == generation else 0
            if shards:
                self._shards_of[key] = shards  # sharding is one-way: valid while this generation lives
        if shards:
            meta = Collection(status.customer_id, status.collection_id, "", "", generation=generation, shards=shards)
            return {"ConditionCheck": {"Key": _shard_key(meta, random.randrange(shards)),  # noqa: S311
                                       "ConditionExpression": "attribute_exists(pk)"}}
        return {"ConditionCheck": {
            "Key": _ser({"pk": _cust_pk(status.customer_id), "sk": f"COLL#{status.collection_id}"}),
            "ConditionExpression": "generation = :gen", "ExpressionAttributeValues": _ser({":gen": generation})}}

    def get_image_status(self, customer_id: str, collection_id: str, image_id: str) -> ImageStatus | None:
        item = self._get(_coll_pk(customer_id, collection_id), f"IMG#{check_last_id(image_id, 'image_id')}")
        return _status(item) if item else None

    def list_images(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[ImageStatus], str | None]:
        self._meta(customer_id, collection_id)
        items, token = self._page(_coll_pk(customer_id, collection_id), "IMG#", limit, next_token,
                                  f"images|{customer_id}|{collection_id}")
        return [s for s in (_status(i) for i in items) if s is not None], token

    def delete_image(
        self, customer_id: str, collection_id: str, image_id: str, *, sequencer: str | None
    ) -> list[str]:
        pk = _coll_pk(customer_id, collection_id)
        check_last_id(image_id, "image_id")
        try:
            self._meta(customer_id, collection_id)
        except CollectionNotFound:
            return []
        names = {f"#{k}": k for k in _STATUS_FIELDS}
        sets: dict[str, Any] = {"tombstone": True, "customer_id": customer_id,
                                "collection_id": collection_id, "image_id": image_id,
                                "deleted_at": utc_now_iso()}
        kwargs: dict[str, Any] = {}
        if sequencer:
            sets["seq"] = normalize_sequencer(sequencer)
            sets["deleted_sequencer"] = sequencer
            kwargs["ConditionExpression"] = "attribute_not_exists(seq) OR seq <= :seq"
        try:
            resp = self._call(
                "update_item", Key=_ser({"pk": pk, "sk": f"IMG#{image_id}"}),
                UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in sets)
                + " REMOVE " + ", ".join(names),
                ExpressionAttributeNames=names, ExpressionAttributeValues=_ser({f":{k}": v for k, v in sets.items()}),
                ReturnValues="ALL_NEW", **kwargs)
        except ClientError:
            logger.info("stale image delete ignored", extra={"customer_id": customer_id,
                                                            "collection_id": collection_id, "image_id": image_id})
            return []
        face_ids = sorted(_des(resp.get("Attributes", {})).get("face_set", set()))
        found = self._batch_get(pk, [f"FACE#{f}" for f in face_ids])
        deleted, _ = self._remove(customer_id, collection_id, list(found.values()), allow_associated=True)
        return sorted(deleted)

    # -------------------------------------------------------------- users
    def create_user(self, customer_id: str, collection_id: str, user_id: str) -> User:
        check_key_id(user_id, "user_id")
        pk = _coll_pk(customer_id, collection_id)
        user = User(customer_id, collection_id, user_id, (), utc_now_iso())
        try:
            self._transact([
                {"Put": {"Item": _ser({"pk": pk, "sk": f"USER#{user_id}", "type": "USER",
                                       "customer_id": customer_id, "collection_id": collection_id,
                                       "user_id": user_id, "created_at": user.created_at}),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {"Key": _ser({"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}"}),
                            "UpdateExpression": "ADD user_count :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _ser({":one": 1})}},
            ])
        except _Cancelled as exc:
            if exc.codes == ["TransactionConflict"]:
                raise StoreUnavailable("create_user: conflict") from exc
            if exc.codes[1] == "ConditionalCheckFailed":
                raise CollectionNotFound(collection_id) from exc
            raise UserExists(user_id) from exc
        return user

    def get_user(self, customer_id: str, collection_id: str, user_id: str) -> User | None:
        if "#" in user_id:
            return None
        item = self._get(_coll_pk(customer_id, collection_id), f"USER#{user_id}")
        return _user(item) if item else None

    def list_users(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[User], str | None]:
        self._meta(customer_id, collection_id)
        items, token = self._page(_coll_pk(customer_id, collection_id), "USER#", limit, next_token,
                                  f"users|{customer_id}|{collection_id}")
        return [_user(i) for i in items], token

    def _user_or_raise(self, customer_id: str, collection_id: str, user_id: str) -> User:
        self._meta(customer_id, collection_id)
        user = self.get_user(customer_id, collection_id, user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    def delete_user(self, customer_id: str, collection_id: str, user_id: str) -> None:
        user = self._user_or_raise(customer_id, collection_id, user_id)
        if user.face_ids:
            self.disassociate_faces(customer_id, collection_id, user_id, user.face_ids)
        try:
            self._transact([
                {"Delete": {"Key": _ser({"pk": _coll_pk(customer_id, collection_id), "sk": f"USER#{user_id}"}),
                            "ConditionExpression": "attribute_exists(pk)"}},
                {"Update": {"Key": _ser({"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}"}),
                            "UpdateExpression": "ADD user_count :minus",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _ser({":minus": -1})}},
            ])
        except _Cancelled as exc:
            if exc.codes == ["TransactionConflict"]:
                raise StoreUnavailable("delete_user: conflict") from exc
            raise UserNotFound(user_id) from exc

    def associate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        return self._associate(customer_id, collection_id, user_id, face_ids, associate=True)

    def disassociate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        return self._associate(customer_id, collection_id, user_id, face_ids, associate=False)

    def _associate(self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str], *,
                   associate: bool) -> tuple[list[str], list[tuple[str, str]]]:
        pk = _coll_pk(customer_id, collection_id)
        wanted = list(dict.fromkeys(face_ids))
        for _ in self._attempts("associate_faces"):
            user = self._user_or_raise(customer_id, collection_id, user_id)
            meta = self._meta(customer_id, collection_id)
            items = self._batch_get(pk, [f"FACE#{f}" for f in wanted if "#" not in f])
            ok: list[str] = []
            failed: list[tuple[str, str]] = []
            for face_id in wanted:
                item = items.get(f"FACE#{face_id}")
                owner = item.get("user_id") if item else None
                if item is None:
                    failed.append((face_id, FACE_NOT_FOUND))
                elif (owner not in (None, user_id)) if associate else (owner != user_id):
                    failed.append((face_id, ASSOCIATED_TO_A_DIFFERENT_USER))
                else:
                    ok.append(face_id)
            change = [f for f in ok if (f not in user.face_ids) == associate]
            if associate and len(user.face_ids) + len(change) > MAX_FACES_PER_USER:
                raise UserFaceLimitExceeded(user_id)
            if not change:
                return ok, failed
            if len(change) > MAX_TX_ITEMS - 3:
                raise ValueError(f"at most {MAX_TX_ITEMS - 3} faces per call")
            ops: list[dict[str, Any]] = []
            for face_id in change:
                if associate:
                    ops.append({"Update": {
                        "Key": _ser({"pk": pk, "sk": f"FACE#{face_id}"}), "UpdateExpression": "SET user_id = :u",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(user_id)",
                        "ExpressionAttributeValues": _ser({":u": user_id})}})
                else:
                    ops.append({"Update": {
                        "Key": _ser({"pk": pk, "sk": f"FACE#{face_id}"}), "UpdateExpression": "REMOVE user_id",
                        "ConditionExpression": "attribute_exists(pk) AND user_id = :u",
                        "ExpressionAttributeValues": _ser({":u": user_id})}})
            user_update: dict[str, Any] = {
                "Key": _ser({"pk": pk, "sk": f"USER#{user_id}"}),
                "UpdateExpression": ("ADD" if associate else "DELETE") + " face_ids :ids",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": _ser({":ids": set(change)}),
            }
            if associate:
                user_update["ConditionExpression"] += (
                    " AND (attribute_not_exists(face_ids) OR size(face_ids) <= :room)")
                user_update["ExpressionAttributeValues"][":room"] = _v(MAX_FACES_PER_USER - len(change))
            ops.append({"Update": user_update})
            try:
                self._transact(self._counted(meta, ops, change, 0))
                return ok, failed
            except _Cancelled:
                continue  # something moved: re-read and re-decide
        return [], []  # pragma: no cover (_attempts raises)

    # -------------------------------------------------------------- vector-index support
    def changes_since(self, customer_id: str, collection_id: str, version: int) -> FaceDelta:
        meta = self._meta(customer_id, collection_id)
        if meta.shards:
            raise ChangeLogCompacted(f"{collection_id}: sharded, no change log (the vector engine serves it)")
        if version < meta.log_floor or version > meta.version:
            raise ChangeLogCompacted(f"{collection_id}@{version}")
        pk = _coll_pk(customer_id, collection_id)
        touched: dict[str, None] = {}
        last = version
        for item in self._query(pk, _change_sk(version + 1), _change_sk(10**12 - 1)):
            v = int(item["version"])
            if v != last + 1:
                raise ChangeLogCompacted(f"{collection_id}: change {last + 1} missing")
            last = v
            touched.update(dict.fromkeys(item.get("ids", [])))
        found = self._batch_get(pk, [f"FACE#{f}" for f in touched])
        added = [_face(found[f"FACE#{f}"]) for f in touched if f"FACE#{f}" in found]
        removed = [f for f in touched if f"FACE#{f}" not in found]
        return FaceDelta(added, removed, last)

    def set_snapshot(self, customer_id: str, collection_id: str, version: int) -> bool:
        check_key_id(collection_id, "collection_id")
        try:
            self._call("update_item", Key=_ser({"pk": _cust_pk(customer_id), "sk": f"COLL#{collection_id}"}),
                       UpdateExpression="SET log_floor = snapshot_version, snapshot_version = :v",
                       ConditionExpression="attribute_exists(pk) AND snapshot_version < :v AND version >= :v",
                       ExpressionAttributeValues=_ser({":v": version}))
        except ClientError:
            return False
        return True

    def compact_changes(self, customer_id: str, collection_id: str) -> int:
        meta = self._meta(customer_id, collection_id)
        pk = _coll_pk(customer_id, collection_id)
        keys = [{"pk": pk, "sk": i["sk"]} for i in self._query(pk, _change_sk(0), _change_sk(meta.log_floor))]
        self._delete_items(keys)
        return len(keys)

    # -------------------------------------------------------------- erasure
    def purge_customer(
        self, customer_id: str, *, cursor: str | None = None, max_items: int = 2000
    ) -> tuple[dict[str, int], str | None]:
        """A filtered Scan of the whole table (erasures are rare; it finds orphans no query would):
        the customer's collection items (pk CUST#id) and every item of its collection partitions
        (pk COLL#id#...). The cursor is the scan position, signed like a page token."""
        kinds = {"COLL#": "collections", "FACE#": "faces", "USER#": "users", "IMG#": "images"}
        counts = {"collections": 0, "faces": 0, "users": 0, "images": 0, "other": 0}
        kwargs: dict[str, Any] = {
            "FilterExpression": "pk = :cust OR begins_with(pk, :coll)",
            "ExpressionAttributeValues": _ser({":cust": _cust_pk(customer_id), ":coll": f"COLL#{customer_id}#"}),
            "ProjectionExpression": "pk, sk", "ConsistentRead": True, "Limit": min(max(max_items, 1), 1000),
        }
        if cursor:
            pk, _, sk = decode_token(f"purge#{customer_id}", cursor, self._token_key).partition("\n")
            kwargs["ExclusiveStartKey"] = _ser({"pk": pk, "sk": sk})
        examined = 0
        while True:
            page = self._call("scan", **kwargs)
            keys = [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in page.get("Items", [])]
            self._delete_items(keys)
            for key in keys:
                counts[next((v for k, v in kinds.items() if key["sk"].startswith(k)), "other")] += 1
            examined += int(page.get("ScannedCount", 0))
            last = page.get("LastEvaluatedKey")
            if not last:
                logger.info("customer purged", extra={"customer_id": customer_id, **counts})
                return counts, None
            kwargs["ExclusiveStartKey"] = last
            if examined >= max_items:
                position = f"{last['pk']['S']}\n{last['sk']['S']}"
                return counts, encode_token(f"purge#{customer_id}", position, self._token_key)


def _chunks(items: Sequence[Any], size: Callable[[list[Any]], int]) -> Iterator[list[Any]]:
    """Split `items` into lists whose transaction size (by `size`) stays within MAX_TX_ITEMS."""
    chunk: list[Any] = []
    for item in items:
        if chunk and size([*chunk, item]) > MAX_TX_ITEMS:
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk
