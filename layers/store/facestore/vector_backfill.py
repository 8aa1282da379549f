"""Backfill of `vec` (the vector index's attribute) on faces stored before the index existed.

Resumable and idempotent, safe while indexing continues:
- a collection's faces are read page by page (one strongly consistent Query each); a face without
  `vec` gets it by a conditional UpdateItem (`attribute_exists(pk) AND attribute_not_exists(vec)`),
  so a face deleted meanwhile is not re-created and one written meanwhile (new code writes `vec`) is
  left as it is;
- after each page the cursor (`vec_backfill_after`, the last face key done) is saved on the collection
  item: a stopped run resumes there;
- at the end `vec_ready` is set on the collection item. Until then facestore.engines serves the
  collection with the exact engine, so no search sees a half-filled index.
Collections created after this change are born with `vec_ready` (every face they get carries `vec`).
Run it once every function runs the new code (a container of the old code still writes faces
without `vec`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .dynamodb import collection_pk
from .errors import CollectionNotFound
from .ids import check_key_id, embedding_from_bytes
from .vector_search import VECTOR_ATTRIBUTE, vector_numbers

logger = logging.getLogger(__name__)

READY_ATTRIBUTE = "vec_ready"
CURSOR_ATTRIBUTE = "vec_backfill_after"


@dataclass(frozen=True)
class BackfillResult:
    """One collection's run: faces read, faces given `vec`, and whether the collection is now ready."""

    customer_id: str
    collection_id: str
    scanned: int
    updated: int
    complete: bool


def _n(value: Any) -> dict[str, Any]:
    return {"N": str(value)}


class VectorBackfill:
    """`client`: a boto3 DynamoDB client; `table`: FacesTable's name; `page`: faces per Query."""

    def __init__(self, client: Any, table: str, *, page: int = 100) -> None:
        self._client = client
        self._table = table
        self._page = page

    def collections(self) -> Iterator[tuple[str, str]]:
        """Every (customer id, collection id) of the table (a Scan of collection items: admin only)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ProjectionExpression": "customer_id, collection_id",
            "FilterExpression": "begins_with(pk, :c) AND begins_with(sk, :k)",
            "ExpressionAttributeValues": {":c": {"S": "CUST#"}, ":k": {"S": "COLL#"}},
        }
        while True:
            resp = self._client.scan(**kwargs)
            for item in resp.get("Items", []):
                yield item["customer_id"]["S"], item["collection_id"]["S"]
            if not resp.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _collection_key(self, customer_id: str, collection_id: str) -> dict[str, Any]:
        check_key_id(customer_id, "customer_id")
        check_key_id(collection_id, "collection_id")
        return {"pk": {"S": f"CUST#{customer_id}"}, "sk": {"S": f"COLL#{collection_id}"}}

    def run(self, customer_id: str, collection_id: str, *, max_pages: int | None = None,
            progress: Callable[[BackfillResult], None] | None = None) -> BackfillResult:
        """Backfill one collection (at most `max_pages` pages this call); raises CollectionNotFound."""
        key = self._collection_key(customer_id, collection_id)
        coll = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if coll is None:
            raise CollectionNotFound(collection_id)
        if coll.get(READY_ATTRIBUTE, {}).get("BOOL"):
            return BackfillResult(customer_id, collection_id, 0, 0, True)
        pk = collection_pk(customer_id, collection_id)
        cursor = coll.get(CURSOR_ATTRIBUTE, {}).get("S")
        scanned = updated = pages = 0
        while max_pages is None or pages < max_pages:
            kwargs: dict[str, Any] = {
                "TableName": self._table, "ConsistentRead": True, "Limit": self._page,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :f)",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":f": {"S": "FACE#"}},
                "ProjectionExpression": "sk, emb, #vec", "ExpressionAttributeNames": {"#vec": VECTOR_ATTRIBUTE},
            }
            if cursor:
                kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": cursor}}
            resp = self._client.query(**kwargs)
            items = resp.get("Items", [])
            for item in items:
                scanned += 1
                if VECTOR_ATTRIBUTE in item or "emb" not in item:
                    continue
                updated += self._give_vector(pk, item)
            pages += 1
            done = not resp.get("LastEvaluatedKey")
            cursor = items[-1]["sk"]["S"] if items else cursor
            self._save(key, cursor, done)
            result = BackfillResult(customer_id, collection_id, scanned, updated, done)
            if progress is not None:
                progress(result)
            if done:
                logger.info("vector backfill complete", extra={
                    "customer_id": customer_id, "collection_id": collection_id, "updated": updated})
                return result
        return BackfillResult(customer_id, collection_id, scanned, updated, False)

    def _give_vector(self, pk: str, item: dict[str, Any]) -> int:
        numbers = vector_numbers(embedding_from_bytes(item["emb"]["B"]))
        try:
            self._client.update_item(
                TableName=self._table, Key={"pk": {"S": pk}, "sk": item["sk"]},
                UpdateExpression="SET #vec = :vec",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#vec)",
                ExpressionAttributeNames={"#vec": VECTOR_ATTRIBUTE},
                ExpressionAttributeValues={":vec": {"L": [_n(n) for n in numbers]}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return 0  # deleted meanwhile, or given `vec` by a newer write
            raise
        return 1

    def _save(self, key: dict[str, Any], cursor: str | None, done: bool) -> None:
        values: dict[str, Any]
        if done:
            expr, values = f"SET {READY_ATTRIBUTE} = :t REMOVE {CURSOR_ATTRIBUTE}", {":t": {"BOOL": True}}
        elif cursor:
            expr, values = f"SET {CURSOR_ATTRIBUTE} = :c", {":c": {"S": cursor}}
        else:
            return
        try:
            self._client.update_item(TableName=self._table, Key=key, UpdateExpression=expr,
                                     ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=values)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise CollectionNotFound(key["sk"]["S"][5:]) from exc
            raise
