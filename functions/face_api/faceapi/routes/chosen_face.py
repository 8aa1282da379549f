"""Search a collection with a face picked in the query photo (operation: search)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import chosen_face, deps
from faceapi import models as m
from faceapi import search as usecase
from faceapi.routes.search import image_search_response
from facepolicy.http import audited, current_customer_id, requires

router = APIGatewayHttpRouter()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]


@router.post("/collections/<collection_id>/search/face", tags=["search"],
             summary="Search the collection with a chosen face of an image (by its box from POST /detect)",
             description="As POST /collections/{collection_id}/search, but the face searched is the one at "
                         "`bounding_box` instead of the largest. No detected face at that box is not an "
                         "error: `searched_face_bounding_box` is null and `face_matches` empty.",
             middlewares=[requires("search", deps.gate)], responses=m.ERROR_RESPONSES)
def search_chosen_face(d: deps.Container, collection_id: CollectionPath,
                       body: Annotated[chosen_face.SearchChosenFaceRequest, Body()]) -> m.SearchByImageResponse:
    found = usecase.search_by_image(d, current_customer_id(router), collection_id, body, quality_filter="NONE",
                                    max_faces=body.max_faces, threshold=body.threshold,
                                    pick=chosen_face.picker(d, body.bounding_box),
                                    audited=lambda: audited(router))
    return image_search_response(d, found)
