"""A collection's photos for the console: statuses with their faces, the customer's own image bytes
through a short-lived presigned GET, deleting a photo (its object, its faces, its status), and deleting
every photo of a deleted collection.

Every object key is built from the authorizer's customer id (images.upload_key), so a caller can
only ever reach its own uploads: another customer's image answers exactly like a missing one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import Field

from faceapi import images, views
from faceapi import models as m
from faceapi.deps import Deps
from faceapi.errors import ResourceNotFound
from faceapi.models import Model
from facestore.errors import CollectionNotFound
from facestore.s3_purge import delete_key_versions, purge_prefix
from facestore.uploads import collection_prefix, upload_key

MAX_PHOTOS_PAGE = 100
DEFAULT_PHOTOS_PAGE = 25
IMAGE_URL_EXPIRY_SECONDS = 120  # long enough to fetch the bytes, short enough not to be shared
PURGE_BUDGET_SECONDS = 20.0  # a collection's photos: at most this long per call (API Gateway answers 503 at 30 s)
PURGE_MARGIN_SECONDS = 3.0  # no new page this close to the budget or to the function's own deadline


# ---------------------------------------------------------------- models
class PhotoFace(Model):
    face_id: str
    bounding_box: m.BoundingBox
    confidence: float
    user_id: str | None = None


class Photo(m.ImageStatusResponse):
    """An image's indexing outcome with the faces currently stored for it (in pixels of the upright image)."""

    faces: list[PhotoFace] = Field(default_factory=list)


class PhotoList(Model):
    images: list[Photo]
    next_token: str | None = None


class ImageUrl(Model):
    """A presigned GET of the customer's own uploaded image."""

    image_id: str
    url: str
    expires_in: int = Field(description="Seconds the URL stays valid.")


class DeletedImage(Model):
    image_id: str
    deleted_faces: list[str]
    status: str = "DELETED"


# ---------------------------------------------------------------- use cases
def list_photos(d: Deps, customer_id: str, collection_id: str, limit: int, next_token: str | None) -> PhotoList:
    statuses, token = d.store.list_images(customer_id, collection_id, limit, next_token)
    out = []
    for status in statuses:
        faces = d.store.faces_of_image(customer_id, collection_id, status.image_id)
        out.append(Photo(**views.image_status(status).model_dump(), faces=[
            PhotoFace(face_id=f.face_id, bounding_box=views.box(f.box), confidence=round(float(f.confidence), 3),
                      user_id=f.user_id) for f in faces]))
    return PhotoList(images=out, next_token=token)


def _require_collection(d: Deps, customer_id: str, collection_id: str) -> None:
    if d.store.get_collection(customer_id, collection_id) is None:
        raise CollectionNotFound(collection_id)


def image_url(d: Deps, customer_id: str, collection_id: str, image_id: str) -> ImageUrl:
    """A short-lived GET of an upload of this customer's collection; 404 if it does not exist."""
    _require_collection(d, customer_id, collection_id)
    if not images.upload_exists(d.s3, d.settings.uploads_bucket, customer_id, collection_id, image_id):
        raise ResourceNotFound("the image does not exist")
    url = d.s3.generate_presigned_url(
        "get_object", ExpiresIn=IMAGE_URL_EXPIRY_SECONDS, HttpMethod="GET",
        Params={"Bucket": d.settings.uploads_bucket,
                "Key": upload_key(customer_id, collection_id, image_id),
                "ResponseCacheControl": "private, no-store"})
    return ImageUrl(image_id=image_id, url=url, expires_in=IMAGE_URL_EXPIRY_SECONDS)


def delete_photo(d: Deps, customer_id: str, collection_id: str, image_id: str) -> DeletedImage:
    """Delete every version of the upload, then its faces and status (the later ObjectRemoved is a no-op)."""
    _require_collection(d, customer_id, collection_id)
    key = upload_key(customer_id, collection_id, image_id)
    removed = delete_key_versions(d.s3, d.settings.uploads_bucket, key)
    faces = d.store.delete_image(customer_id, collection_id, image_id, sequencer=None)
    if not removed and not faces:
        raise ResourceNotFound("the image does not exist")
    return DeletedImage(image_id=image_id, deleted_faces=faces)


def purge_collection_photos(d: Deps, customer_id: str, collection_id: str,
                            remaining: Callable[[], float] | None = None) -> tuple[int, bool]:
    """Delete every version of every upload of the collection within PURGE_BUDGET_SECONDS (and before the
    function's `remaining()` seconds run out): (versions deleted, True when none is left)."""
    deadline = time.monotonic() + PURGE_BUDGET_SECONDS

    def time_left() -> float:
        left = deadline - time.monotonic()
        return min(left, remaining()) if remaining is not None else left

    return purge_prefix(d.s3, d.settings.uploads_bucket, collection_prefix(customer_id, collection_id),
                        versions=True, time_left=time_left, margin=PURGE_MARGIN_SECONDS)
