"""Search a collection by image or by a stored face (operation: search)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from faceapi import deps, views
from faceapi import models as m
from faceapi import search as usecase
from facepolicy.http import audited, current_customer_id, requires

router = APIGatewayHttpRouter()
metrics = Metrics()  # shares the handler's metric set (flushed by @metrics.log_metrics)

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
FacePath = Annotated[str, Path(pattern=m.ID_PATTERN, description="A face id of the collection.")]


@router.post("/collections/<collection_id>/search", tags=["search"],
             summary="Search the collection with the largest face of an image",
             description="No usable face in the image is not an error: `face_matches` is empty and "
                         "`searched_face_bounding_box` is null.",
             middlewares=[requires("search", deps.gate, audit_while_parsing=True)], responses=m.ERROR_RESPONSES)
def search_by_image(d: deps.Container, collection_id: CollectionPath,
                    body: Annotated[m.SearchByImageRequest, Body()]) -> m.SearchByImageResponse:
    found = usecase.search_by_image(d, current_customer_id(router), collection_id, body,
                                    quality_filter=body.quality_filter, max_faces=body.max_faces,
                                    threshold=body.threshold,
                                    audited=lambda: audited(router))
    return image_search_response(d, found)


def image_search_response(d: deps.Deps, found: usecase.ImageSearch) -> m.SearchByImageResponse:
    """The answer of a search by image (counted in the search metrics)."""
    searched, hits = found.searched, found.hits
    metrics.add_metric(name="FaceSearches", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="FaceSearchMatches", unit=MetricUnit.Count, value=len(hits))
    return m.SearchByImageResponse(
        searched_face_bounding_box=views.box(searched.face.box.to_dict()) if searched.face else None,
        searched_face_confidence=round(searched.face.confidence, 3) if searched.face else None,
        unsearched_face_count=searched.unsearched_count,
        face_matches=[views.face_match(h.meta, h.similarity) for h in hits],
        face_model_version=d.engine_model_version)


@router.post("/collections/<collection_id>/faces/<face_id>/search", tags=["search"],
             summary="Search the collection with a stored face (the face itself is not a match)",
             middlewares=[requires("search", deps.gate)], responses=m.ERROR_RESPONSES)
def search_by_face(d: deps.Container, collection_id: CollectionPath, face_id: FacePath,
                   body: Annotated[m.SearchFacesRequest, Body()]) -> m.SearchFacesResponse:
    customer_id = current_customer_id(router)
    query = usecase.stored_embedding(d, customer_id, collection_id, face_id)
    hits = usecase.search_faces(d, customer_id, collection_id, query, max_faces=body.max_faces,
                                threshold=body.threshold, exclude=(face_id,))
    metrics.add_metric(name="FaceSearches", unit=MetricUnit.Count, value=1)
    return m.SearchFacesResponse(searched_face_id=face_id,
                                 face_matches=[views.face_match(h.meta, h.similarity) for h in hits],
                                 face_model_version=d.engine_model_version)
