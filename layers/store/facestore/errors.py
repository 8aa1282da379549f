"""Domain exceptions of the face store and vector index; adapters translate backend errors into these."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every face-store error."""


class CollectionExists(StoreError):
    """create_collection: the customer already has a collection with that id."""


class CollectionNotFound(StoreError):
    """The collection does not exist for this customer (another customer's collection is 'not found')."""


class FaceNotFound(StoreError):
    """The face does not exist in this customer's collection."""


class UserExists(StoreError):
    """create_user: the user id is taken in this collection."""


class UserNotFound(StoreError):
    """The user does not exist in this customer's collection."""


class UserFaceLimitExceeded(StoreError):
    """associate_faces would give a user more than MAX_FACES_PER_USER faces (Rekognition's quota)."""


class InvalidToken(StoreError):
    """A pagination token that this store did not issue for this listing (tampered, or another scope)."""


class InvalidId(StoreError, ValueError):
    """An id that cannot be part of a key (empty, too long, or containing the key separator '#')."""


class StaleEvent(StoreError):
    """put_faces(sequencer=...): a newer event for the image is already recorded; nothing was written."""


class ChangeLogCompacted(StoreError):
    """changes_since(version): the change log below the requested version was compacted; reload the snapshot."""


class ModelVersionMismatch(StoreError):
    """The collection was indexed with another face-model version than the caller's: its vectors and the
    caller's are not comparable, so nothing is searched or added (a model change needs a migration)."""

    def __init__(self, collection_id: str, collection_version: str, caller_version: str) -> None:
        super().__init__(f"collection {collection_id} holds faces of face model {collection_version}; this "
                         f"service runs {caller_version}: re-index the collection into a new one to use it")
        self.collection_id = collection_id
        self.collection_version = collection_version
        self.caller_version = caller_version


class StoreUnavailable(StoreError):
    """Transient backend failure (throttling, timeouts, contention): retry-worthy."""
