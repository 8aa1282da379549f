"""InMemoryFaceStore: the face-store port in a dict, for unit tests and the local stack (no AWS).

Same semantics as DynamoDBFaceStore (one contract test suite runs over both); one lock makes every
method atomic, as DynamoDB's transactions are.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import (
    ChangeLogCompacted,
    CollectionExists,
    CollectionNotFound,
    StaleEvent,
    UserExists,
    UserFaceLimitExceeded,
    UserNotFound,
)
from .ids import (
    check_faces,
    check_key_id,
    check_last_id,
    check_limit,
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
from .tokens import page_of


def _copy_face(face: Face, **changes: object) -> Face:
    return replace(
        copy.deepcopy(replace(face, embedding=np.empty(0, np.float32))),
        embedding=np.array(face.embedding, dtype=np.float32),
        **changes,  # type: ignore[arg-type]
    )


@dataclass
class _Image:
    status: ImageStatus | None = None
    seq: str | None = None
    face_set: set[str] = field(default_factory=set)


@dataclass
class _Partition:
    meta: Collection
    faces: dict[str, Face] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    changes: dict[int, tuple[str, ...]] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)  # face ids deleted: never stored again


class InMemoryFaceStore:
    """The FaceStore port in memory (see facestore.port.FaceStore for each method's contract)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._parts: dict[tuple[str, str], _Partition] = {}
        # image items live beside the collection: a status may be recorded for a missing collection
        self._images: dict[tuple[str, str], dict[str, _Image]] = {}

    # -------------------------------------------------------------- helpers
    def _part(self, customer_id: str, collection_id: str) -> _Partition:
        check_key_id(customer_id, "customer_id")
        check_key_id(collection_id, "collection_id")
        part = self._parts.get((customer_id, collection_id))
        if part is None:
            raise CollectionNotFound(collection_id)
        return part

    @staticmethod
    def _bump(part: _Partition, touched: Sequence[str], face_delta: int) -> None:
        version = part.meta.version + 1
        part.changes[version] = tuple(touched)
        part.meta = replace(part.meta, version=version, face_count=part.meta.face_count + face_delta)

    # -------------------------------------------------------------- collections
    def create_collection(
        self, customer_id: str, collection_id: str, model_version: str, defaults: dict[str, object] | None = None
    ) -> Collection:
        check_key_id(customer_id, "customer_id")
        check_key_id(collection_id, "collection_id")
        with self._lock:
            if (customer_id, collection_id) in self._parts:
                raise CollectionExists(collection_id)
            meta = Collection(customer_id, collection_id, utc_now_iso(), model_version,
                              defaults=copy.deepcopy(dict(defaults or {})), generation=new_generation())
            self._parts[(customer_id, collection_id)] = _Partition(meta)
            return copy.deepcopy(meta)

    def get_collection(self, customer_id: str, collection_id: str, *, counts: bool = True) -> Collection | None:
        with self._lock:
            try:
                return copy.deepcopy(self._part(customer_id, collection_id).meta)
            except CollectionNotFound:
                return None

    def shard_collection(self, customer_id: str, collection_id: str, shards: int = DEFAULT_SHARDS) -> Collection:
        """Record the collection as sharded (one lock serialises this fake anyway; counts stay exact)."""
        with self._lock:
            part = self._part(customer_id, collection_id)
            if not part.meta.shards:
                part.meta = replace(part.meta, shards=shards)
            return copy.deepcopy(part.meta)

    def list_collections(
        self, customer_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Collection], str | None]:
        check_key_id(customer_id, "customer_id")
        check_limit(limit)
        with self._lock:
            keys = sorted(coll for cust, coll in self._parts if cust == customer_id)
            chunk, token = page_of(keys, limit, next_token, f"collections|{customer_id}")
            return [copy.deepcopy(self._parts[(customer_id, k)].meta) for k in chunk], token

    def delete_collection(self, customer_id: str, collection_id: str) -> None:
        with self._lock:
            self._part(customer_id, collection_id)
            del self._parts[(customer_id, collection_id)]
            self._images.pop((customer_id, collection_id), None)

    # -------------------------------------------------------------- faces
    def put_faces(
        self, customer_id: str, collection_id: str, faces: Sequence[Face], *, sequencer: str | None = None,
        generation: str | None = None,
    ) -> list[str]:
        faces = check_faces(customer_id, collection_id, faces)
        seq = normalize_sequencer(sequencer) if sequencer else None
        if seq is not None and len({f.image_id for f in faces}) > 1:
            raise ValueError("put_faces with a sequencer takes the faces of one image")
        with self._lock:
            part = self._part(customer_id, collection_id)
            if generation is not None and part.meta.generation != generation:
                raise CollectionNotFound(collection_id)
            images = self._images.setdefault((customer_id, collection_id), {})
            if seq is not None and faces:
                image = images.get(faces[0].image_id)
                if image is not None and image.seq is not None and image.seq > seq:
                    raise StaleEvent(faces[0].image_id)
            new = [f for f in faces if f.face_id not in part.faces and f.face_id not in part.erased]
            if not new:
                return []
            for face in new:
                part.faces[face.face_id] = _copy_face(face, user_id=None)
                image = images.setdefault(face.image_id, _Image())
                image.face_set.add(face.face_id)
                if seq is not None:
                    image.seq = seq
            self._bump(part, [f.face_id for f in new], len(new))
            return [f.face_id for f in new]

    def delete_faces(
        self, customer_id: str, collection_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        with self._lock:
            part = self._part(customer_id, collection_id)
            deleted: list[str] = []
            failed: list[tuple[str, str]] = []
            for face_id in dict.fromkeys(face_ids):
                face = part.faces.get(face_id)
                if face is None:
                    failed.append((face_id, FACE_NOT_FOUND))
                elif face.user_id is not None:
                    failed.append((face_id, ASSOCIATED_TO_AN_EXISTING_USER))
                else:
                    deleted.append(face_id)
            self._remove_faces(customer_id, collection_id, part, deleted)
            return deleted, failed

    def _remove_faces(
        self, customer_id: str, collection_id: str, part: _Partition, face_ids: Sequence[str]
    ) -> None:
        if not face_ids:
            return
        images = self._images.get((customer_id, collection_id), {})
        part.erased.update(face_ids)
        for face_id in face_ids:
            face = part.faces.pop(face_id)
            image = images.get(face.image_id)
            if image is not None:
                image.face_set.discard(face_id)
            if face.user_id is not None and face.user_id in part.users:
                user = part.users[face.user_id]
                part.users[face.user_id] = replace(
                    user, face_ids=tuple(f for f in user.face_ids if f != face_id))
        self._bump(part, face_ids, -len(face_ids))

    def get_face(self, customer_id: str, collection_id: str, face_id: str) -> Face | None:
        with self._lock:
            try:
                face = self._part(customer_id, collection_id).faces.get(face_id)
            except CollectionNotFound:
                return None
            return _copy_face(face) if face is not None else None

    def list_faces(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Face], str | None]:
        check_limit(limit)
        with self._lock:
            part = self._part(customer_id, collection_id)
            scope = f"faces|{customer_id}|{collection_id}"
            chunk, token = page_of(sorted(part.faces), limit, next_token, scope)
            return [_copy_face(part.faces[k]) for k in chunk], token

    def faces_of_image(self, customer_id: str, collection_id: str, image_id: str) -> list[Face]:
        with self._lock:
            try:
                part = self._part(customer_id, collection_id)
            except CollectionNotFound:
                return []
            image = self._images.get((customer_id, collection_id), {}).get(image_id)
            ids = sorted(image.face_set) if image else []
            return [_copy_face(part.faces[i]) for i in ids if i in part.faces]

    # -------------------------------------------------------------- images
    def put_image_status(self, status: ImageStatus, *, only_if_newer: bool = True,
                         generation: str | None = None) -> bool:
        check_key_id(status.customer_id, "customer_id")
        check_key_id(status.collection_id, "collection_id")
        check_last_id(status.image_id, "image_id")
        seq = normalize_sequencer(status.sequencer) if status.sequencer else None
        with self._lock:
            if generation is not None:
                part = self._parts.get((status.customer_id, status.collection_id))
                if part is None or part.meta.generation != generation:
                    return False
            images = self._images.setdefault((status.customer_id, status.collection_id), {})
            image = images.setdefault(status.image_id, _Image())
            if only_if_newer and seq is not None and image.seq is not None and image.seq > seq:
                return False
            image.status = copy.deepcopy(replace(status, updated_at=status.updated_at or utc_now_iso()))
            if seq is not None:
                image.seq = seq
            return True

    def get_image_status(self, customer_id: str, collection_id: str, image_id: str) -> ImageStatus | None:
        check_key_id(customer_id, "customer_id")
        check_key_id(collection_id, "collection_id")
        with self._lock:
            image = self._images.get((customer_id, collection_id), {}).get(image_id)
            return copy.deepcopy(image.status) if image is not None else None

    def list_images(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[ImageStatus], str | None]:
        check_limit(limit)
        with self._lock:
            self._part(customer_id, collection_id)
            images = self._images.get((customer_id, collection_id), {})
            scope = f"images|{customer_id}|{collection_id}"
            chunk, token = page_of(sorted(images), limit, next_token, scope)
            found = [images[k].status for k in chunk]
            return [copy.deepcopy(s) for s in found if s is not None], token

    def delete_image(
        self, customer_id: str, collection_id: str, image_id: str, *, sequencer: str | None
    ) -> list[str]:
        check_last_id(image_id, "image_id")
        seq = normalize_sequencer(sequencer) if sequencer else None
        with self._lock:
            try:
                part = self._part(customer_id, collection_id)
            except CollectionNotFound:
                return []
            images = self._images.setdefault((customer_id, collection_id), {})
            image = images.setdefault(image_id, _Image())
            if seq is not None and image.seq is not None and image.seq > seq:
                return []
            image.status = None
            if seq is not None:
                image.seq = seq
            doomed = sorted(f for f in image.face_set if f in part.faces)
            self._remove_faces(customer_id, collection_id, part, doomed)
            return doomed

    # -------------------------------------------------------------- users
    def create_user(self, customer_id: str, collection_id: str, user_id: str) -> User:
        check_key_id(user_id, "user_id")
        with self._lock:
            part = self._part(customer_id, collection_id)
            if user_id in part.users:
                raise UserExists(user_id)
            user = User(customer_id, collection_id, user_id, (), utc_now_iso())
            part.users[user_id] = user
            part.meta = replace(part.meta, user_count=part.meta.user_count + 1)
            return user

    def get_user(self, customer_id: str, collection_id: str, user_id: str) -> User | None:
        with self._lock:
            try:
                return self._part(customer_id, collection_id).users.get(user_id)
            except CollectionNotFound:
                return None

    def list_users(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[User], str | None]:
        check_limit(limit)
        with self._lock:
            part = self._part(customer_id, collection_id)
            scope = f"users|{customer_id}|{collection_id}"
            chunk, token = page_of(sorted(part.users), limit, next_token, scope)
            return [part.users[k] for k in chunk], token

    def _user(self, part: _Partition, user_id: str) -> User:
        user = part.users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    def delete_user(self, customer_id: str, collection_id: str, user_id: str) -> None:
        with self._lock:
            part = self._part(customer_id, collection_id)
            user = self._user(part, user_id)
            if user.face_ids:
                self.disassociate_faces(customer_id, collection_id, user_id, user.face_ids)
            del part.users[user_id]
            part.meta = replace(part.meta, user_count=part.meta.user_count - 1)

    def associate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        with self._lock:
            part = self._part(customer_id, collection_id)
            user = self._user(part, user_id)
            ok: list[str] = []
            failed: list[tuple[str, str]] = []
            for face_id in dict.fromkeys(face_ids):
                face = part.faces.get(face_id)
                if face is None:
                    failed.append((face_id, FACE_NOT_FOUND))
                elif face.user_id not in (None, user_id):
                    failed.append((face_id, ASSOCIATED_TO_A_DIFFERENT_USER))
                else:
                    ok.append(face_id)
            new = [f for f in ok if f not in user.face_ids]
            if len(user.face_ids) + len(new) > MAX_FACES_PER_USER:
                raise UserFaceLimitExceeded(user_id)
            if new:
                for face_id in new:
                    part.faces[face_id] = replace(part.faces[face_id], user_id=user_id)
                part.users[user_id] = replace(user, face_ids=user.face_ids + tuple(new))
                self._bump(part, new, 0)
            return ok, failed

    def disassociate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        with self._lock:
            part = self._part(customer_id, collection_id)
            user = self._user(part, user_id)
            ok: list[str] = []
            failed: list[tuple[str, str]] = []
            for face_id in dict.fromkeys(face_ids):
                face = part.faces.get(face_id)
                if face is None:
                    failed.append((face_id, FACE_NOT_FOUND))
                elif face.user_id != user_id:
                    failed.append((face_id, ASSOCIATED_TO_A_DIFFERENT_USER))
                else:
                    ok.append(face_id)
            if ok:
                for face_id in ok:
                    part.faces[face_id] = replace(part.faces[face_id], user_id=None)
                part.users[user_id] = replace(user, face_ids=tuple(f for f in user.face_ids if f not in ok))
                self._bump(part, ok, 0)
            return ok, failed

    # -------------------------------------------------------------- vector-index support
    def changes_since(self, customer_id: str, collection_id: str, version: int) -> FaceDelta:
        with self._lock:
            part = self._part(customer_id, collection_id)
            if part.meta.shards:
                raise ChangeLogCompacted(f"{collection_id}: sharded, no change log (the vector engine serves it)")
            if version < part.meta.log_floor or version > part.meta.version:
                raise ChangeLogCompacted(f"{collection_id}@{version}")
            touched: dict[str, None] = {}
            for v in range(version + 1, part.meta.version + 1):
                touched.update(dict.fromkeys(part.changes[v]))
            added = [_copy_face(part.faces[f]) for f in touched if f in part.faces]
            removed = [f for f in touched if f not in part.faces]
            return FaceDelta(added, removed, part.meta.version)

    def set_snapshot(self, customer_id: str, collection_id: str, version: int) -> bool:
        with self._lock:
            part = self._part(customer_id, collection_id)
            if version <= part.meta.snapshot_version or version > part.meta.version:
                return False
            part.meta = replace(part.meta, log_floor=part.meta.snapshot_version, snapshot_version=version)
            return True

    def compact_changes(self, customer_id: str, collection_id: str) -> int:
        with self._lock:
            part = self._part(customer_id, collection_id)
            doomed = [v for v in part.changes if v <= part.meta.log_floor]
            for v in doomed:
                del part.changes[v]
            return len(doomed)

    # -------------------------------------------------------------- erasure
    def purge_customer(
        self, customer_id: str, *, cursor: str | None = None, max_items: int = 2000
    ) -> tuple[dict[str, int], str | None]:
        check_key_id(customer_id, "customer_id")
        counts = {"collections": 0, "faces": 0, "users": 0, "images": 0, "other": 0}
        with self._lock:
            for key in [k for k in self._parts if k[0] == customer_id]:
                part = self._parts.pop(key)
                counts["collections"] += 1
                counts["faces"] += len(part.faces)
                counts["users"] += len(part.users)
                counts["other"] += len(part.changes)
            for key in [k for k in self._images if k[0] == customer_id]:
                counts["images"] += sum(1 for i in self._images.pop(key).values() if i.status is not None)
        return counts, None
