"""A collection's photos (operations: manage, delete): list with faces, the image itself, delete."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import deps, photos
from faceapi import models as m
from facepolicy.http import current_customer_id, requires

router = APIGatewayHttpRouter()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
ImagePath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The image id returned by the upload call.")]
MaxResults = Annotated[int, Query(ge=1, le=photos.MAX_PHOTOS_PAGE, description="Page size.")]
NextToken = Annotated[str | None, Query(max_length=2048, description="The next_token of the previous page.")]


@router.get("/collections/<collection_id>/images", tags=["uploads"],
            summary="List the collection's photos with their status and faces",
            description="Photos whose upload was processed (indexed or refused), by image id; deleted photos "
                        "and uploads still pending are not listed, so a page may be shorter than max_results.",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def list_images(d: deps.Container, collection_id: CollectionPath, max_results: MaxResults = photos.DEFAULT_PHOTOS_PAGE,
                next_token: NextToken = None) -> photos.PhotoList:
    return photos.list_photos(d, current_customer_id(router), collection_id, max_results,
                              next_token or None)


@router.get("/collections/<collection_id>/images/<image_id>/url", tags=["uploads"],
            summary="A short-lived presigned GET of one of your own uploaded photos",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def get_image_url(d: deps.Container, collection_id: CollectionPath, image_id: ImagePath) -> photos.ImageUrl:
    return photos.image_url(d, current_customer_id(router), collection_id, image_id)


@router.delete("/collections/<collection_id>/images/<image_id>", tags=["uploads"],
               summary="Delete a photo: every version of its upload, its faces (they leave search) and its status",
               middlewares=[requires("delete", deps.gate)], responses=m.ERROR_RESPONSES)
def delete_image(d: deps.Container, collection_id: CollectionPath, image_id: ImagePath) -> photos.DeletedImage:
    return photos.delete_photo(d, current_customer_id(router), collection_id, image_id)
