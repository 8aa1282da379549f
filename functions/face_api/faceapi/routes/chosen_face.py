"""Search a collection with a face picked in the query photo (operation: search)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from faceapi import chosen_face, deps, views
from faceapi import models as m
from faceapi import search as usecase
from faceapi.routes.search import request_image
from facepolicy.http import current_customer_id, requires

router = APIGatewayHttpRouter()
metrics = Metrics()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]


@router.post("/collections/<collection_id>/search/face", tags=["search"],
             summary="Search the collection with a chosen face of an image (by its box from POST /detect)",
             description="As POST /collections/{collection_id}/search, but the face searched is the one at "
                         "`bounding_box` instead of the largest: 400 INVALID_PARAMETER if no detected face "
                         "overlaps it.",
             middlewares=[requires("search", deps.gate)], responses=m.ERROR_RESPONSES)
def search_chosen_face(collection_id: CollectionPath,
                       body: Annotated[chosen_face.SearchChosenFaceRequest, Body()]) -> m.SearchByImageResponse:
    d, customer_id = deps.current(), current_customer_id(router)
    index_ready = usecase.prefetch_index(d, customer_id, collection_id)
    data, limit = request_image(d, customer_id, collection_id, body)
    searched = chosen_face.chosen_face(d, data, body.bounding_box, max_bytes=limit)
    index_ready.result()  # 404 for a missing or another customer's collection
    hits = usecase.search_faces(d, customer_id, collection_id, searched.embedding, max_faces=body.max_faces,
                                threshold=body.threshold, synced=True) if searched.embedding is not None else []
    metrics.add_metric(name="FaceSearches", unit=MetricUnit.Count, value=1)
    if searched.face is None:
        raise ValueError("chosen_face always returns a face")
    return m.SearchByImageResponse(
        searched_face_bounding_box=views.box(searched.face.box.to_dict()),
        searched_face_confidence=round(searched.face.confidence, 3),
        unsearched_face_count=searched.unsearched_count,
        face_matches=[views.face_match(h.meta, h.similarity) for h in hits],
        face_model_version=d.engine_model_version)
