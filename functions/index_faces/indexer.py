"""The indexing use-case behind index_faces: one S3 event record in, one `Outcome` out.

Its collaborators are injected and typed: the face engine, the policy gate, the face store
(facestore.port.FaceStore), the uploads bucket (upload_objects.UploadObjects, where S3 errors and the
size limit are handled) and the vector index. Events are parsed by s3_notifications. No Powertools
batch machinery, no botocore and no DynamoDB item shapes: `app.py` is the glue and the composition
root, the adapters own the items and the errors.

Outcomes are final (a status is recorded, or the event is skipped with a reason) or the record is
retried: `RetryableError` (transient S3/store trouble, the registry being unreadable) and
`MalformedMessage` propagate, the batch reports the record as failed, SQS redelivers it and, after
maxReceiveCount, moves it to the dead-letter queue. Nothing is dropped silently.

Ordering. Real S3 events carry `sequencer` and `versionId`: faces are written with the sequencer
(`put_faces(sequencer=...)` raises StaleEvent if a newer create or a delete of the image is recorded)
and the status only if newer. Erasure stays erased: the store never stores a deleted face again,
so a replayed event records only the faces still there (or nothing); an upload made for an older
incarnation of the collection (its `collection-generation` metadata, signed into the upload URL)
is refused in the same write. moto's events carry neither: the current version is read with GetObject
(a deleted object is then simply gone) and the event is treated as the newest (no sequencer check).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from s3_notifications import ObjectEvent, parse_record, s3_records
from upload_objects import ObjectGone, ObjectTooLarge, RetryableError, UploadObjects

from faceengine import MODEL_VERSION, ImageError
from faceengine.types import Analysis
from facepolicy.model import Decision, ReasonCode
from facepolicy.quota import QuotaExceeded
from facestore import CollectionNotFound, Face, ImageStatus, StaleEvent, StoreUnavailable, face_id_for
from facestore.errors import ModelVersionMismatch
from facestore.port import FaceStore
from facestore.uploads import GENERATION_METADATA

logger = Logger(child=True)

EXTERNAL_IMAGE_ID_PATTERN = re.compile(r"[a-zA-Z0-9_.\-:]{1,255}")
MAX_FACES_LIMIT = 100
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
DEFAULT_QUALITY_FILTER = "AUTO"  # as Rekognition's IndexFaces
SOURCE = "index_faces"


class Action:
    """What happened to one event (the metric and the log say it)."""

    INDEXED = "INDEXED"
    NO_FACES = "NO_FACES"
    INVALID_IMAGE = "INVALID_IMAGE"
    REJECTED_POLICY = "REJECTED_POLICY"
    REJECTED_COLLECTION = "REJECTED_COLLECTION"
    REJECTED_QUOTA = "REJECTED_QUOTA"
    DELETED = "DELETED"
    SKIPPED = "SKIPPED"  # final, nothing to do: test event, hostile key, stale or vanished object


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


def _landmarks(landmarks: Sequence[Any]) -> tuple[dict[str, object], ...]:
    out: list[dict[str, object]] = [dict(lm.to_dict()) for lm in landmarks]
    return tuple(out)


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


# ------------------------------------------------------------------ the use-case
class Indexer:
    """Index uploads, refuse disallowed customers, mirror deletions. Every collaborator is injected."""

    def __init__(
        self, *, engine: Engine | Callable[[], Engine], gate: Gate, store: FaceStore, objects: UploadObjects,
        vector_index: Snapshotter | None = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.gate = gate
        self.store = store
        self.objects = objects
        self.vector_index = vector_index
        self.clock = clock
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
        if event.bucket != self.objects.bucket:
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
        if collection is None:  # deleted after its upload URL was issued: its photos go with it
            status = self._status(event, "REJECTED_COLLECTION", reason_code="COLLECTION_NOT_FOUND",
                                  message="no such collection for this customer", version_id=event.version_id)
            outcome = self._finish(event, status, [])
            self._purge_orphan(event, "COLLECTION_NOT_FOUND", event.version_id)
            return outcome
        if collection.model_version and collection.model_version != MODEL_VERSION:
            status = self._status(event, "REJECTED_COLLECTION", reason_code="MODEL_VERSION_MISMATCH",
                                  message=str(ModelVersionMismatch(event.collection_id, collection.model_version,
                                                                   MODEL_VERSION)), version_id=event.version_id)
            return self._finish(event, status, [])

        try:
            obj = self.objects.open(event)  # real S3 says the size: too large is never fetched
        except ObjectGone:
            return self._skip(event, "OBJECT_GONE")
        except ObjectTooLarge as exc:
            return self._invalid(event, "IMAGE_TOO_LARGE", str(exc), None, event.version_id)
        version_id = event.version_id or obj.version_id
        version_key = version_id or obj.etag
        generation = obj.metadata.get(GENERATION_METADATA) or None
        if generation is not None and generation != collection.generation:
            obj.close()  # uploaded for a collection since deleted (and re-created under the same id)
            self._purge_orphan(event, "OLD_COLLECTION", version_id or "null")  # only the version read
            return self._skip(event, "OLD_COLLECTION")
        options = index_options(obj.metadata, collection.defaults or {})
        if isinstance(options, str):
            obj.close()  # the body is not read
            return self._invalid(event, options, f"object metadata: {options}", None, version_id)
        try:
            data = obj.read()
        except ObjectTooLarge as exc:
            return self._invalid(event, "IMAGE_TOO_LARGE", str(exc), options, version_id)

        try:
            analysis = self.engine.analyze(data, max_faces=options.max_faces, quality_filter=options.quality_filter,
                                           max_bytes=self.objects.max_bytes)
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
        over = self._over_face_quota(event, collection.face_count, len(faces))
        if over is not None:  # no face of this image is stored
            status = self._status(event, Action.REJECTED_QUOTA, reason_code="MAX_FACES_PER_COLLECTION", message=over,
                                  version_id=version_id, external_image_id=options.external_image_id)
            return self._finish(event, status, [])
        status = self._status(event, "INDEXED" if faces else "NO_FACES", version_id=version_id,
                              face_ids=tuple(f.face_id for f in faces), unindexed=unindexed,
                              external_image_id=options.external_image_id)
        return self._finish(event, status, faces, generation)

    def _over_face_quota(self, event: ObjectEvent, current: int, adding: int) -> str | None:
        """Why storing `adding` faces would pass the collection's face quota, or None (the gate's quota)."""
        quota = getattr(self.gate, "quota", None)
        if quota is None:
            return None
        limit = quota.quotas(event.customer_id).max_faces_per_collection
        if limit is None or current + adding <= limit:
            return None
        replaced = len(self.store.faces_of_image(event.customer_id, event.collection_id, event.image_id))
        try:  # a new version of an indexed image replaces its faces
            quota.check_faces(event.customer_id, event.collection_id, current - replaced, adding)
        except QuotaExceeded as exc:
            return exc.message
        return None

    def _reject_policy(self, event: ObjectEvent, decision: Decision) -> Outcome:
        """Record REJECTED_POLICY, then permanently delete the refused object version(s): no image of a
        disallowed customer is kept. Status first: the purge's own ObjectRemoved events then find the
        refusal and keep it; purged first, a failed status write let them tombstone the image, and the
        retried refusal was refused as stale (the upload ended with no status; found by the fault storm)."""
        status = self._status(event, "REJECTED_POLICY", reason_code=decision.reason_code, message=decision.message,
                              version_id=event.version_id)
        outcome = self._finish(event, status, [])
        purged = self.objects.purge(event)
        logger.warning("upload refused by policy; object purged", customer_id=event.customer_id,
                       collection_id=event.collection_id, image_id=event.image_id,
                       reason_code=decision.reason_code, rule_id=decision.rule_id, versions_purged=purged)
        return outcome

    def _purge_orphan(self, event: ObjectEvent, reason: str, version_id: str | None) -> None:
        """Permanently delete an upload that arrived for a deleted collection (its URL was issued before
        the delete): the collection's photos were deleted with it, this one must not stay behind."""
        purged = self.objects.purge(event, version_id)
        logger.info("upload of a deleted collection purged", customer_id=event.customer_id,
                    collection_id=event.collection_id, image_id=event.image_id, reason=reason,
                    versions_purged=purged)

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
    def _finish(self, event: ObjectEvent, status: ImageStatus, faces: Sequence[Face],
                generation: str | None = None) -> Outcome:
        """Write faces (sequencer-checked, never a deleted one again), then the status (only if newer, naming
        only the faces stored); drop faces of older versions. With `generation`, only into that collection."""
        c, col, img = event.customer_id, event.collection_id, event.image_id
        new_ids = set(status.face_ids)
        older = [f.face_id for f in self.store.faces_of_image(c, col, img) if f.face_id not in new_ids]
        created: list[str] = []
        if faces:
            try:
                created = list(self.store.put_faces(c, col, faces, sequencer=event.sequencer,
                                                    generation=generation))
            except StaleEvent:
                return self._skip(event, "STALE_EVENT")
            except CollectionNotFound:  # deleted while we were decoding
                status = self._status(event, "REJECTED_COLLECTION", reason_code="COLLECTION_NOT_FOUND",
                                      message="no such collection for this customer", version_id=status.version_id)
                faces = ()
        if faces and len(created) < len(faces):  # a replay: faces deleted since are not stored again
            present = {f.face_id for f in self.store.faces_of_image(c, col, img)}
            stored = tuple(fid for fid in status.face_ids if fid in present)
            if not stored:
                return self._skip(event, "FACES_DELETED")
            status = replace(status, face_ids=stored)
        if not self.store.put_image_status(status, only_if_newer=True, generation=generation):
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

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
