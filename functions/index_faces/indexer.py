"""The indexing use-case behind index_faces: one S3 event record in, one `Outcome` out.

Imports: the face engine, the face store and the policy layer (ports only, injected), botocore's
exception types for the S3 client (mapped to outcomes in `_s3_errors`, the one place). No Powertools
batch machinery and no DynamoDB item shapes: `app.py` is the glue, the store adapter owns the items.

Outcomes are final (a status is recorded, or the event is skipped with a reason) or the record is
retried: `RetryableError` (transient S3/store trouble, the registry being unreadable) and
`MalformedMessage` propagate, the batch reports the record as failed, SQS redelivers it and, after
maxReceiveCount, moves it to the dead-letter queue. Nothing is dropped silently.

Ordering. Real S3 events carry `sequencer` and `versionId`: faces are written with the sequencer
(`put_faces(sequencer=...)` raises StaleEvent if a newer create or a delete of the image is recorded)
and the status only if newer. moto's events carry neither: the current version is read with GetObject
(a deleted object is then simply gone) and the event is treated as the newest (no sequencer check).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from faceengine import MODEL_VERSION, ImageError
from faceengine.types import Analysis
from facepolicy.model import Decision, ReasonCode
from facestore import CollectionNotFound, Face, ImageStatus, StaleEvent, StoreUnavailable, face_id_for
from facestore.ids import normalize_sequencer

logger = Logger(child=True)

KEY_PREFIX = "uploads/"
ID_PATTERN = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")
EXTERNAL_IMAGE_ID_PATTERN = re.compile(r"[a-zA-Z0-9_.\-:]{1,255}")
MAX_IMAGE_BYTES = 15 * 1024 * 1024  # Rekognition's limit for images read from S3
MAX_FACES_LIMIT = 100
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
DEFAULT_QUALITY_FILTER = "AUTO"  # as Rekognition's IndexFaces
SOURCE = "index_faces"

_S3_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404", "MethodNotAllowed", "405"})


class Action:
    """What happened to one event (the metric and the log say it)."""

    INDEXED = "INDEXED"
    NO_FACES = "NO_FACES"
    INVALID_IMAGE = "INVALID_IMAGE"
    REJECTED_POLICY = "REJECTED_POLICY"
    REJECTED_COLLECTION = "REJECTED_COLLECTION"
    DELETED = "DELETED"
    SKIPPED = "SKIPPED"  # final, nothing to do: test event, hostile key, stale or vanished object


class RetryableError(Exception):
    """A transient failure: the record must be retried (and end in the DLQ if it keeps failing)."""


class MalformedMessage(Exception):
    """The message is not an S3 notification; kept (retried, then dead-lettered) for inspection."""


class _ObjectGone(Exception):
    """The object (version) no longer exists."""


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 record, parsed and validated."""

    kind: str  # "created" | "removed"
    event_name: str
    bucket: str
    key: str
    customer_id: str
    collection_id: str
    image_id: str
    version_id: str | None
    sequencer: str | None
    size: int | None


@dataclass(frozen=True)
class Outcome:
    action: str
    reason: str | None = None
    customer_id: str | None = None
    collection_id: str | None = None
    image_id: str | None = None
    faces_indexed: int = 0
    faces_unindexed: int = 0
    faces_deleted: int = 0


@dataclass(frozen=True)
class IndexOptions:
    external_image_id: str | None
    max_faces: int | None
    quality_filter: str


class Engine(Protocol):
    def analyze(self, data: bytes, *, max_faces: int | None, quality_filter: str, max_bytes: int) -> Analysis: ...


class Gate(Protocol):
    def check(self, customer_id: str, operation: str, *, request_id: str, source: str) -> Decision: ...


class Snapshotter(Protocol):
    def maybe_snapshot(self, customer_id: str, collection_id: str) -> Any: ...


# ------------------------------------------------------------------ parsing
def s3_records(body: str) -> list[dict[str, Any]]:
    """The S3 records of an SQS message body; [] for S3's TestEvent. Raises MalformedMessage."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage("message body is not JSON") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("message body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise MalformedMessage("message carries no S3 Records")
    return records


def parse_key(key: str) -> tuple[str, str, str] | None:
    """(customer_id, collection_id, image_id) of `uploads/{customer}/{collection}/{image}`, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key[len(KEY_PREFIX):].split("/")
    if len(parts) != 3 or not all(ID_PATTERN.fullmatch(p) for p in parts):
        return None
    return parts[0], parts[1], parts[2]


def parse_record(record: Mapping[str, Any]) -> ObjectEvent | str:
    """An ObjectEvent, or the reason (a string) why the record is skipped."""
    name = str(record.get("eventName", ""))
    if name.startswith("ObjectCreated:"):
        kind = "created"
    elif name.startswith("ObjectRemoved:"):
        kind = "removed"
    else:
        return "UNSUPPORTED_EVENT"
    s3 = record.get("s3")
    if not isinstance(s3, dict) or not isinstance(s3.get("object"), dict) or not isinstance(s3.get("bucket"), dict):
        return "MALFORMED_RECORD"
    obj, bucket = s3["object"], s3["bucket"]
    key = unquote_plus(str(obj.get("key", "")))
    ids = parse_key(key)
    if ids is None:
        return "INVALID_KEY"
    sequencer = _text(obj.get("sequencer"))
    if sequencer is not None:
        try:
            normalize_sequencer(sequencer)
        except ValueError:
            return "INVALID_SEQUENCER"
    size = obj.get("size")
    return ObjectEvent(
        kind=kind, event_name=name, bucket=str(bucket.get("name", "")), key=key,
        customer_id=ids[0], collection_id=ids[1], image_id=ids[2],
        version_id=_text(obj.get("versionId")), sequencer=sequencer,
        size=size if isinstance(size, int) else None,
    )


def _landmarks(landmarks: Sequence[Any]) -> tuple[dict[str, object], ...]:
    out: list[dict[str, object]] = [dict(lm.to_dict()) for lm in landmarks]
    return tuple(out)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != "null" else None


def index_options(metadata: Mapping[str, str], defaults: Mapping[str, object]) -> IndexOptions | str:
    """Options from x-amz-meta-* (GetObject's lower-cased Metadata) over collection defaults,
    or the reason they are invalid."""
    external = metadata.get("external-image-id") or None
    if external is not None and not EXTERNAL_IMAGE_ID_PATTERN.fullmatch(external):
        return "INVALID_EXTERNAL_IMAGE_ID"
    raw_max = metadata.get("max-faces", defaults.get("max_faces"))
    max_faces: int | None = None
    if raw_max not in (None, ""):
        try:
            max_faces = int(str(raw_max))
        except ValueError:
            return "INVALID_MAX_FACES"
        if not 1 <= max_faces <= MAX_FACES_LIMIT:
            return "INVALID_MAX_FACES"
    quality = str(metadata.get("quality-filter") or defaults.get("quality_filter") or DEFAULT_QUALITY_FILTER).upper()
    if quality not in QUALITY_FILTERS:
        return "INVALID_QUALITY_FILTER"
    return IndexOptions(external_image_id=external, max_faces=max_faces, quality_filter=quality)


# ------------------------------------------------------------------ S3 errors (the one mapping)
@contextmanager
def _s3_errors(action: str) -> Iterator[None]:
    """Map botocore errors: a missing object/version -> _ObjectGone; anything else -> RetryableError."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _S3_GONE or status in ("404", "405"):
            raise _ObjectGone(code or status) from exc
        raise RetryableError(f"S3 {action} failed: {code or status}") from exc
    except BotoCoreError as exc:  # timeouts, connection errors
        raise RetryableError(f"S3 {action} failed: {type(exc).__name__}") from exc


# ------------------------------------------------------------------ the use-case
class Indexer:
    """Index uploads, refuse disallowed customers, mirror deletions. Every collaborator is injected."""

    def __init__(
        self, *, engine: Engine | Callable[[], Engine], gate: Gate, store: Any, s3: Any, bucket: str,
        vector_index: Snapshotter | None = None, clock: Callable[[], float] = time.time,
        max_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self._engine = engine
        self.gate = gate
        self.store = store
        self.s3 = s3
        self.bucket = bucket
        self.vector_index = vector_index
        self.clock = clock
        self.max_bytes = max_bytes
        self._touched: set[tuple[str, str]] = set()

    @property
    def engine(self) -> Engine:
        """The engine; a factory is called on first use (a deny or a delete never loads the models)."""
        if callable(self._engine) and not hasattr(self._engine, "analyze"):
            self._engine = self._engine()
        return self._engine  # type: ignore[return-value]

    def process_message(self, body: str, request_id: str) -> list[Outcome]:
        """Every record of one SQS message body (S3 sends one a message)."""
        return [self.process_record(record, request_id) for record in s3_records(body)] or [
            Outcome(Action.SKIPPED, reason="TEST_EVENT")]

    def process_record(self, record: Mapping[str, Any], request_id: str) -> Outcome:
        event = parse_record(record)
        if isinstance(event, str):
            logger.warning("S3 record skipped", reason=event, event_name=record.get("eventName"))
            return Outcome(Action.SKIPPED, reason=event)
        if event.bucket != self.bucket:
            logger.warning("S3 record of another bucket skipped", bucket=event.bucket)
            return Outcome(Action.SKIPPED, reason="FOREIGN_BUCKET")
        if event.kind == "removed":
            return self.remove(event, request_id)
        return self.index(event, request_id)

    # -------------------------------------------------------------- ObjectCreated
    def index(self, event: ObjectEvent, request_id: str) -> Outcome:
        decision = self.gate.check(event.customer_id, "index", request_id=request_id, source=SOURCE)
        if not decision.allowed:
            if decision.reason_code == ReasonCode.POLICY_UNAVAILABLE:
                raise RetryableError("customer registry unavailable: retry, the object is kept")
            return self._reject_policy(event, decision)

        collection = self.store.get_collection(event.customer_id, event.collection_id)
        if collection is None:
            status = self._status(event, "REJECTED_COLLECTION", reason_code="COLLECTION_NOT_FOUND",
                                  message="no such collection for this customer", version_id=event.version_id)
            return self._finish(event, status, [])

        if event.size is not None and event.size > self.max_bytes:  # real S3 says the size: never fetched
            return self._invalid(event, "IMAGE_TOO_LARGE", f"{event.size} bytes (max {self.max_bytes})", None,
                                 event.version_id)
        try:
            obj = self._open(event)
        except _ObjectGone:
            return self._skip(event, "OBJECT_GONE")
        version_id = event.version_id or _text(obj.get("VersionId"))
        version_key = version_id or str(obj.get("ETag", "")).strip('"')
        options = index_options(obj.get("Metadata") or {}, collection.defaults or {})
        size = obj.get("ContentLength")
        if isinstance(options, str) or (isinstance(size, int) and size > self.max_bytes):
            obj["Body"].close()  # the body is not read
            if isinstance(options, str):
                return self._invalid(event, options, f"object metadata: {options}", None, version_id)
            return self._invalid(event, "IMAGE_TOO_LARGE", f"{size} bytes (max {self.max_bytes})", options,
                                 version_id)
        data = self._read(obj)
        if len(data) > self.max_bytes:
            return self._invalid(event, "IMAGE_TOO_LARGE", f"more than {self.max_bytes} bytes", options, version_id)

        try:
            analysis = self.engine.analyze(data, max_faces=options.max_faces, quality_filter=options.quality_filter,
                                           max_bytes=self.max_bytes)
        except ImageError as exc:
            return self._invalid(event, exc.code, exc.message, options, version_id)
        del data

        now = self._now()
        faces = [
            Face(customer_id=event.customer_id, collection_id=event.collection_id,
                 face_id=face_id_for(event.customer_id, event.collection_id, event.image_id, version_key, i),
                 image_id=event.image_id, external_image_id=options.external_image_id,
                 box=kept.face.box.to_dict(), landmarks=_landmarks(kept.face.landmarks),
                 confidence=round(float(kept.face.confidence), 3), quality=kept.face.quality.to_dict(),
                 embedding=kept.embedding, model_version=MODEL_VERSION, indexed_at=now)
            for i, kept in enumerate(analysis.faces)
        ]
        unindexed = tuple({"reasons": list(u.reasons), "face_detail": u.face.to_dict()} for u in analysis.unindexed)
        status = self._status(event, "INDEXED" if faces else "NO_FACES", version_id=version_id,
                              face_ids=tuple(f.face_id for f in faces), unindexed=unindexed,
                              external_image_id=options.external_image_id)
        return self._finish(event, status, faces)

    def _reject_policy(self, event: ObjectEvent, decision: Decision) -> Outcome:
        """Permanently delete the refused object version(s): no image of a disallowed customer is kept."""
        purged = self._purge(event)
        logger.warning("upload refused by policy; object purged", customer_id=event.customer_id,
                       collection_id=event.collection_id, image_id=event.image_id,
                       reason_code=decision.reason_code, rule_id=decision.rule_id, versions_purged=purged)
        status = self._status(event, "REJECTED_POLICY", reason_code=decision.reason_code, message=decision.message,
                              version_id=event.version_id)
        return self._finish(event, status, [])

    def _purge(self, event: ObjectEvent) -> int:
        if event.version_id:
            versions = [event.version_id]
        else:  # moto (or an unversioned bucket): every version and delete marker of exactly this key
            with _s3_errors("ListObjectVersions"):
                listing = self.s3.list_object_versions(Bucket=event.bucket, Prefix=event.key)
            versions = [v["VersionId"] for v in (*listing.get("Versions", ()), *listing.get("DeleteMarkers", ()))
                        if v.get("Key") == event.key and v.get("VersionId")]
            if not versions:
                versions = ["null"]
        for version_id in versions:
            with _s3_errors("DeleteObject"):
                self.s3.delete_object(Bucket=event.bucket, Key=event.key, VersionId=version_id)
        return len(versions)

    def _open(self, event: ObjectEvent) -> dict[str, Any]:
        """GetObject (that version, or the current one): headers now, the body stream unread."""
        with _s3_errors("GetObject"):
            response: dict[str, Any] = self.s3.get_object(**self._object_args(event))
        return response

    def _read(self, obj: Mapping[str, Any]) -> bytes:
        """At most max_bytes + 1 bytes of the body (a lying Content-Length cannot make us read more)."""
        body = obj["Body"]
        try:
            with _s3_errors("GetObject body"):
                data: bytes = body.read(self.max_bytes + 1)
        finally:
            body.close()
        return data

    def _invalid(self, event: ObjectEvent, code: str, message: str, options: IndexOptions | None,
                 version_id: str | None) -> Outcome:
        status = self._status(event, "INVALID_IMAGE", reason_code=code, message=message[:500], version_id=version_id,
                              external_image_id=options.external_image_id if options else None)
        return self._finish(event, status, [])

    # -------------------------------------------------------------- ObjectRemoved
    def remove(self, event: ObjectEvent, request_id: str) -> Outcome:
        """Mirror a deletion: the image's faces and status go. Erasure never waits on the policy: the
        decision (operation `delete`) is only audited, whatever it says."""
        decision = self.gate.check(event.customer_id, "delete", request_id=request_id, source=SOURCE)
        if not decision.allowed:
            logger.info("delete audited as denied; erasing anyway", customer_id=event.customer_id,
                        reason_code=decision.reason_code)
        current = self.store.get_image_status(event.customer_id, event.collection_id, event.image_id)
        if event.event_name == "ObjectRemoved:Delete" and event.version_id and current is not None:
            if current.version_id and current.version_id != event.version_id:
                return self._skip(event, "OTHER_VERSION_REMOVED")  # a noncurrent version was purged
            if current.status == "REJECTED_POLICY":
                return self._skip(event, "REFUSED_VERSION_PURGED")  # our own purge: keep the reason
        deleted = self.store.delete_image(event.customer_id, event.collection_id, event.image_id,
                                          sequencer=event.sequencer)
        self._snapshot(event)
        logger.info("image removed", customer_id=event.customer_id, collection_id=event.collection_id,
                    image_id=event.image_id, faces_deleted=len(deleted), event_name=event.event_name)
        return Outcome(Action.DELETED, customer_id=event.customer_id, collection_id=event.collection_id,
                       image_id=event.image_id, faces_deleted=len(deleted))

    # -------------------------------------------------------------- shared
    def _finish(self, event: ObjectEvent, status: ImageStatus, faces: Sequence[Face]) -> Outcome:
        """Write faces (sequencer-checked), then the status (only if newer); drop faces of older versions."""
        c, col, img = event.customer_id, event.collection_id, event.image_id
        new_ids = set(status.face_ids)
        older = [f.face_id for f in self.store.faces_of_image(c, col, img) if f.face_id not in new_ids]
        created: list[str] = []
        if faces:
            try:
                created = list(self.store.put_faces(c, col, faces, sequencer=event.sequencer))
            except StaleEvent:
                return self._skip(event, "STALE_EVENT")
            except CollectionNotFound:  # deleted while we were decoding
                status = self._status(event, "REJECTED_COLLECTION", reason_code="COLLECTION_NOT_FOUND",
                                      message="no such collection for this customer", version_id=status.version_id)
                faces = ()
        if not self.store.put_image_status(status, only_if_newer=True):
            current = self.store.get_image_status(c, col, img)
            keep = set(current.face_ids) if current is not None else set()
            undo = [fid for fid in created if fid not in keep]  # a newer event won the race
            if undo:
                self.store.delete_faces(c, col, undo)
            return self._skip(event, "STALE_EVENT")
        if older:  # the key was overwritten: the faces of its previous version go
            try:
                _, kept = self.store.delete_faces(c, col, older)
            except CollectionNotFound:
                kept = []
            if kept:
                logger.warning("faces of a replaced image version could not be deleted", image_id=img,
                               failures=[reason for _, reason in kept])
        if created or older:
            self._snapshot(event)
        logger.info("image processed", customer_id=c, collection_id=col, image_id=img, status=status.status,
                    reason_code=status.reason_code, faces_indexed=len(faces), faces_created=len(created),
                    faces_unindexed=len(status.unindexed), older_faces_deleted=len(older))
        return Outcome(status.status, reason=status.reason_code, customer_id=c, collection_id=col, image_id=img,
                       faces_indexed=len(faces), faces_unindexed=len(status.unindexed),
                       faces_deleted=len(older))

    def _snapshot(self, event: ObjectEvent) -> None:
        """Note the collection as changed; `flush_snapshots` (once per batch) refreshes its snapshot."""
        self._touched.add((event.customer_id, event.collection_id))

    def flush_snapshots(self) -> None:
        """Refresh the vector snapshot of each collection the batch changed, if due (one check each,
        not one per record); a failure only delays it to the next batch."""
        touched, self._touched = self._touched, set()
        if self.vector_index is None:
            return
        for customer_id, collection_id in sorted(touched):
            try:
                self.vector_index.maybe_snapshot(customer_id, collection_id)
            except (StoreUnavailable, CollectionNotFound) as exc:
                logger.warning("vector snapshot skipped", customer_id=customer_id,
                               collection_id=collection_id, error=type(exc).__name__)

    def _skip(self, event: ObjectEvent, reason: str) -> Outcome:
        logger.info("S3 event skipped", reason=reason, customer_id=event.customer_id,
                    collection_id=event.collection_id, image_id=event.image_id, event_name=event.event_name)
        return Outcome(Action.SKIPPED, reason=reason, customer_id=event.customer_id,
                       collection_id=event.collection_id, image_id=event.image_id)

    def _status(self, event: ObjectEvent, status: str, **fields: Any) -> ImageStatus:
        return ImageStatus(customer_id=event.customer_id, collection_id=event.collection_id,
                           image_id=event.image_id, status=status, sequencer=event.sequencer,
                           updated_at=self._now(), **fields)

    @staticmethod
    def _object_args(event: ObjectEvent) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": event.bucket, "Key": event.key}
        if event.version_id:
            args["VersionId"] = event.version_id
        return args

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ composition (once per container)
def indexer_from_env(environ: Mapping[str, str] | None = None, *, metrics: Any = None,
                     engine: Engine | None = None) -> Indexer:
    """The indexer of template.yaml's IndexFacesFunction: FACES_TABLE, UPLOADS_BUCKET, INDEX_BUCKET,
    REGISTRY_TABLE, AUDIT_TABLE. The engine loads on first use (a deny or a delete never loads it)."""
    import os

    import boto3
    from botocore.config import Config

    from faceengine import FaceEngine
    from facepolicy.env import gate_from_env
    from facepolicy.gate import PolicyGate
    from facestore import DynamoDBFaceStore

    env = os.environ if environ is None else environ
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
    gate: PolicyGate = gate_from_env(env, metrics=metrics)
    store = DynamoDBFaceStore(boto3.client("dynamodb", config=config), env["FACES_TABLE"])
    s3 = boto3.client("s3", config=config)
    threads = int(env.get("ENGINE_THREADS", "1"))
    return Indexer(engine=engine or (lambda: FaceEngine.load(threads=threads)), gate=gate, store=store,
                   s3=s3, bucket=env["UPLOADS_BUCKET"], vector_index=_vector_index(store, s3, env))


def _vector_index(store: Any, s3: Any, env: Mapping[str, str]) -> Snapshotter | None:
    """The store layer's VectorIndex over INDEX_BUCKET: the indexer writes and compacts snapshots, so a
    cold search function loads one object instead of reading faces item by item."""
    from facestore import S3SnapshotStore, VectorIndex

    bucket = env.get("INDEX_BUCKET")
    if not bucket:
        return None
    return VectorIndex(store, S3SnapshotStore(s3, bucket), cache_mb=int(env.get("VECTOR_CACHE_MB", "256")))
