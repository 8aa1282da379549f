"""The face-store port: what handlers and the vector index may ask of a store (no AWS).

Adapters: `DynamoDBFaceStore` (facestore.dynamodb) and `InMemoryFaceStore` (facestore.memory); one
contract test suite runs over both. Every method is scoped by customer id: nothing returns or changes
another customer's data, and another customer's collection behaves exactly like a missing one.
Embeddings are float32 vectors of EMBEDDING_DIM values, stored as 512 raw bytes, never logged.

Erasure stays erased: a deleted face (delete_faces, delete_image) leaves a tombstone that every later
put_faces checks in the same atomic write, so no redelivered, late or duplicated event stores it
again; a collection's `generation` changes when it is re-created, and writes made for an older
generation (put_faces / put_image_status with `generation=`) are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .model import DEFAULT_SHARDS, Collection, Face, FaceDelta, ImageStatus, User


@runtime_checkable
class FaceStore(Protocol):
    # -------------------------------------------------------------- collections
    def create_collection(
        self, customer_id: str, collection_id: str, model_version: str, defaults: dict[str, object] | None = None
    ) -> Collection:
        """Create an empty collection (version 0); raises CollectionExists."""
        ...

    def get_collection(self, customer_id: str, collection_id: str, *, counts: bool = True) -> Collection | None:
        """The collection with exact face/user counts and its version (strongly consistent), or None.
        `counts=False`: a sharded collection's face_count may leave out its shards (one read, not 1 + shards)."""
        ...

    def list_collections(
        self, customer_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Collection], str | None]:
        """One page of the customer's collections by id; the token is None on the last page."""
        ...

    def shard_collection(self, customer_id: str, collection_id: str, shards: int = DEFAULT_SHARDS) -> Collection:
        """Make the collection's writes sharded, one-way and idempotent: its face count is kept by
        counter shards and no single item serialises its writes (the vector engine's collections;
        no change log is kept for them). Returns the collection; raises CollectionNotFound."""
        ...

    def delete_collection(self, customer_id: str, collection_id: str) -> None:
        """Delete the collection and all its faces, users, image statuses and change log; raises
        CollectionNotFound. Snapshots in S3 are the vector index's to drop."""
        ...

    # -------------------------------------------------------------- faces
    def put_faces(
        self, customer_id: str, collection_id: str, faces: Sequence[Face], *, sequencer: str | None = None,
        generation: str | None = None,
    ) -> list[str]:
        """Store faces idempotently; returns the ids actually created (those that already existed, or
        were ever deleted, are skipped, so a redelivered event creates nothing and erased faces stay
        erased). face_count stays exact and version is bumped once per write transaction. With
        `sequencer` (the S3 event's, all faces of one image), nothing is written and StaleEvent is
        raised if a newer event (a delete or a newer create) of that image is already recorded. With
        `generation`, CollectionNotFound unless the collection is still that generation. Raises
        CollectionNotFound."""
        ...

    def delete_faces(
        self, customer_id: str, collection_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Delete faces: (deleted ids, [(face id, FACE_NOT_FOUND | ASSOCIATED_TO_AN_EXISTING_USER)]),
        as Rekognition's DeleteFaces; a deleted face id is never stored again. Raises CollectionNotFound."""
        ...

    def get_face(self, customer_id: str, collection_id: str, face_id: str) -> Face | None:
        """One face with its embedding, or None."""
        ...

    def list_faces(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Face], str | None]:
        """One page of faces by face id; the token is None on the last page. Raises CollectionNotFound."""
        ...

    def faces_of_image(self, customer_id: str, collection_id: str, image_id: str) -> list[Face]:
        """The faces currently stored for one image (strongly consistent)."""
        ...

    # -------------------------------------------------------------- images
    def put_image_status(self, status: ImageStatus, *, only_if_newer: bool = True,
                         generation: str | None = None) -> bool:
        """Record an image's indexing outcome. With only_if_newer and a sequencer, returns False (and
        writes nothing) if an event with a greater sequencer (e.g. the image's deletion) is recorded;
        with `generation`, False unless the collection exists and is still that generation."""
        ...

    def get_image_status(self, customer_id: str, collection_id: str, image_id: str) -> ImageStatus | None:
        """The image's status, or None (never indexed, or deleted)."""
        ...

    def list_images(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[ImageStatus], str | None]:
        """One page of the collection's images that have a status (indexed or refused), by image id;
        deleted images and uploads not yet processed are skipped, so a page may hold fewer than
        `limit`. The token is None on the last page. Raises CollectionNotFound."""
        ...

    def delete_image(
        self, customer_id: str, collection_id: str, image_id: str, *, sequencer: str | None
    ) -> list[str]:
        """Mirror an ObjectRemoved: delete the image's faces (and their user associations) and its
        status; returns the deleted face ids. A tombstone keeps the sequencer so that a late
        ObjectCreated with an older sequencer cannot bring the faces back (put_faces(sequencer=...)
        raises StaleEvent, put_image_status returns False). If a newer event is already recorded the
        delete is stale and changes nothing. A missing collection: nothing to delete, returns []."""
        ...

    # -------------------------------------------------------------- users
    def create_user(self, customer_id: str, collection_id: str, user_id: str) -> User:
        """Create a user without faces; raises UserExists, CollectionNotFound."""
        ...

    def get_user(self, customer_id: str, collection_id: str, user_id: str) -> User | None:
        """The user with its associated face ids, or None."""
        ...

    def list_users(
        self, customer_id: str, collection_id: str, limit: int, next_token: str | None
    ) -> tuple[list[User], str | None]:
        """One page of users by user id. Raises CollectionNotFound."""
        ...

    def delete_user(self, customer_id: str, collection_id: str, user_id: str) -> None:
        """Disassociate the user's faces (they stay in the collection) and delete it; raises UserNotFound."""
        ...

    def associate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Associate faces to a user: (associated ids, [(face id, FACE_NOT_FOUND |
        ASSOCIATED_TO_A_DIFFERENT_USER)]). Already associated to this user counts as associated.
        Raises UserNotFound, and UserFaceLimitExceeded (nothing written) if the user would have more
        than MAX_FACES_PER_USER faces."""
        ...

    def disassociate_faces(
        self, customer_id: str, collection_id: str, user_id: str, face_ids: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Remove associations: (disassociated ids, [(face id, FACE_NOT_FOUND |
        ASSOCIATED_TO_A_DIFFERENT_USER)]). Raises UserNotFound."""
        ...

    # -------------------------------------------------------------- vector-index support
    def changes_since(self, customer_id: str, collection_id: str, version: int) -> FaceDelta:
        """The net face changes after `version`, read from the change log (one item per version, never a
        scan of the collection). Raises ChangeLogCompacted if version < collection.log_floor (or the
        collection was re-created), CollectionNotFound."""
        ...

    def set_snapshot(self, customer_id: str, collection_id: str, version: int) -> bool:
        """Record that a snapshot at `version` exists; the previous snapshot version becomes the log
        floor. False if a snapshot at least as new was already recorded."""
        ...

    def compact_changes(self, customer_id: str, collection_id: str) -> int:
        """Delete change-log items at or below the log floor; returns how many."""
        ...

    # -------------------------------------------------------------- erasure
    def purge_customer(
        self, customer_id: str, *, cursor: str | None = None, max_items: int = 2000
    ) -> tuple[dict[str, int], str | None]:
        """Delete everything stored for the customer: collections with their faces, users, image
        statuses and change logs, including what an interrupted delete_collection or a status recorded
        for a missing collection left behind. Bounded work: examines about `max_items` items and returns
        (counts deleted by kind: collections, faces, users, images, other; the cursor to resume with,
        None when done). Idempotent; another customer's items are never touched."""
        ...
