"""Collections, upload URLs and image statuses (operations: manage, index, delete)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import deps, images, photos, views
from faceapi import models as m
from faceapi.errors import ResourceNotFound
from faceapi.quotas import check_collection_quota
from faceengine import MODEL_VERSION
from facepolicy.http import current_customer_id, requires
from facestore.engines import engine_for
from facestore.errors import CollectionNotFound
from facestore.uploads import GENERATION_METADATA, upload_key

router = APIGatewayHttpRouter()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
ImagePath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The image id returned by the upload call.")]
MaxResults = Annotated[int, Query(ge=1, le=m.MAX_LIST_RESULTS, description="Page size.")]
NextToken = Annotated[str | None, Query(max_length=2048, description="The next_token of the previous page.")]


def _collection_or_404(d: deps.Deps, customer_id: str, collection_id: str) -> views.Collection:
    found = d.store.get_collection(customer_id, collection_id)
    if found is None:
        raise CollectionNotFound(collection_id)
    return found


@router.post("/collections", tags=["collections"], summary="Create a collection",
             middlewares=[requires("manage", deps.gate)], responses=m.created())
def create_collection(d: deps.Container,
                      body: Annotated[m.CreateCollectionRequest, Body()]) -> tuple[m.CollectionDescription, int]:
    defaults = body.defaults.model_dump(exclude_none=True) if body.defaults else None
    check_collection_quota(d, current_customer_id(router))
    created = d.store.create_collection(current_customer_id(router), body.collection_id, MODEL_VERSION, defaults)
    return views.collection(created, search_engine=engine_for(d.index, created)), 201


@router.get("/collections", tags=["collections"], summary="List collections",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def list_collections(d: deps.Container, max_results: MaxResults = m.DEFAULT_LIST_RESULTS,
                     next_token: NextToken = None) -> m.CollectionList:
    items, token = d.store.list_collections(current_customer_id(router), max_results, next_token or None)
    return m.CollectionList(collections=[views.collection(c, search_engine=engine_for(d.index, c)) for c in items],
                            next_token=token)


@router.get("/collections/<collection_id>", tags=["collections"], summary="Describe a collection",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def describe_collection(d: deps.Container, collection_id: CollectionPath) -> m.CollectionDescription:
    coll = _collection_or_404(d, current_customer_id(router), collection_id)
    return views.collection(coll, search_engine=engine_for(d.index, coll))


@router.delete("/collections/<collection_id>", tags=["collections"],
               summary="Delete a collection with its faces, users, image statuses, index and uploaded photos",
               middlewares=[requires("delete", deps.gate)], responses=m.ERROR_RESPONSES)
def delete_collection(d: deps.Container, collection_id: CollectionPath) -> m.DeletedCollection:
    """The store's items first (searches stop finding its faces at once), then the photos, as many as the
    call's time allows; a repeated call finishes the photos of a collection already deleted."""
    customer_id = current_customer_id(router)
    try:
        d.store.delete_collection(customer_id, collection_id)
        existed = True
    except CollectionNotFound:
        existed = False
    else:
        d.index.drop(customer_id, collection_id)
    deleted, done = photos.purge_collection_photos(d, customer_id, collection_id, _remaining_seconds())
    if not existed and not deleted:
        raise CollectionNotFound(collection_id)
    return m.DeletedCollection(collection_id=collection_id, deleted_photos=deleted, done=done)


def _remaining_seconds() -> Callable[[], float] | None:
    """The invocation's time left, when the resolver has a Lambda context that can tell it."""
    remaining = getattr(getattr(router, "lambda_context", None), "get_remaining_time_in_millis", None)
    return (lambda: remaining() / 1000) if callable(remaining) else None


@router.post("/collections/<collection_id>/uploads", tags=["uploads"],
             summary="Get a presigned PUT URL to upload an image for indexing",
             middlewares=[requires("index", deps.gate)], responses=m.created())
def create_upload(d: deps.Container, collection_id: CollectionPath,
                  body: Annotated[m.CreateUploadRequest, Body()]) -> tuple[m.UploadTicket, int]:
    customer_id = current_customer_id(router)
    collection = _collection_or_404(d, customer_id, collection_id)
    image_id, checksum = images.content_image_id(body.image_id, body.content_type)
    image_id = image_id or uuid.uuid4().hex + images.EXTENSIONS[body.content_type]
    metadata = {k: str(v) for k, v in (("external-image-id", body.external_image_id), ("max-faces", body.max_faces),
                                       ("quality-filter", body.quality_filter),
                                       (GENERATION_METADATA, collection.generation or None)) if v is not None}
    expires = d.settings.upload_expiry_seconds
    params = {"Bucket": d.settings.uploads_bucket, "Key": upload_key(customer_id, collection_id, image_id),
              "ContentType": body.content_type, "ContentLength": body.content_length, "Metadata": metadata}
    headers = {"Content-Type": body.content_type, "Content-Length": str(body.content_length)}
    if checksum:  # signed: S3 answers BadDigest to bytes whose SHA-256 is not the one in the name
        params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = checksum
    url = d.s3.generate_presigned_url("put_object", ExpiresIn=expires, HttpMethod="PUT", Params=params)
    headers.update({f"x-amz-meta-{k}": v for k, v in metadata.items()})
    return m.UploadTicket(image_id=image_id, url=url, headers=headers, expires_in=expires,
                          max_bytes=m.MAX_UPLOAD_BYTES), 201


@router.get("/collections/<collection_id>/images/<image_id>", tags=["uploads"],
            summary="An uploaded image's indexing status",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def get_image(d: deps.Container, collection_id: CollectionPath, image_id: ImagePath) -> m.ImageStatusResponse:
    customer_id = current_customer_id(router)
    _collection_or_404(d, customer_id, collection_id)
    status = d.store.get_image_status(customer_id, collection_id, image_id)
    if status is not None:
        return views.image_status(status)
    if images.upload_exists(d.s3, d.settings.uploads_bucket, customer_id, collection_id, image_id):
        return m.ImageStatusResponse(image_id=image_id, status="PENDING")
    raise ResourceNotFound("the image does not exist")
