"""Search a collection by image or by a stored face (operation: search)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from faceapi import deps, images, views
from faceapi import models as m
from faceapi import search as usecase
from facepolicy.http import current_customer_id, requires

router = APIGatewayHttpRouter()
metrics = Metrics()  # shares the handler's metric set (flushed by @metrics.log_metrics)

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
FacePath = Annotated[str, Path(pattern=m.ID_PATTERN, description="A face id of the collection.")]


def request_image(d: deps.Deps, customer_id: str, collection_id: str, source: m.ImageSource) -> tuple[bytes, int]:
    """(image bytes, the byte limit the engine applies): base64 ≤ 5 MB, an uploaded object ≤ 15 MB."""
    if source.image is not None:
        return images.decode_base64_image(source.image), m.MAX_IMAGE_BYTES
    if source.s3_object is None:  # excluded by the model; kept for the type checker
        raise ValueError("no image")
    data = images.read_upload(d.s3, d.settings.uploads_bucket, customer_id, collection_id, source.s3_object.image_id)
    return data, m.MAX_UPLOAD_BYTES


@router.post("/collections/<collection_id>/search", tags=["search"],
             summary="Search the collection with the largest face of an image",
             description="No usable face in the image is not an error: `face_matches` is empty and "
                         "`searched_face_bounding_box` is null.",
             middlewares=[requires("search", deps.gate)], responses=m.ERROR_RESPONSES)
def search_by_image(collection_id: CollectionPath,
                    body: Annotated[m.SearchByImageRequest, Body()]) -> m.SearchByImageResponse:
    d, customer_id = deps.current(), current_customer_id(router)
    index_ready = usecase.prefetch_index(d, customer_id, collection_id)  # overlaps the embedding below
    data, limit = request_image(d, customer_id, collection_id, body)
    searched = usecase.searched_face(d, data, quality_filter=body.quality_filter, max_bytes=limit)
    index_ready.result()  # raises CollectionNotFound (404) for a missing or another customer's collection
    hits = [] if searched.embedding is None else usecase.search_faces(
        d, customer_id, collection_id, searched.embedding, max_faces=body.max_faces, threshold=body.threshold,
        synced=True)
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
def search_by_face(collection_id: CollectionPath, face_id: FacePath,
                   body: Annotated[m.SearchFacesRequest, Body()]) -> m.SearchFacesResponse:
    d, customer_id = deps.current(), current_customer_id(router)
    query = usecase.stored_embedding(d, customer_id, collection_id, face_id)
    hits = usecase.search_faces(d, customer_id, collection_id, query, max_faces=body.max_faces,
                                threshold=body.threshold, exclude=(face_id,))
    metrics.add_metric(name="FaceSearches", unit=MetricUnit.Count, value=1)
    return m.SearchFacesResponse(searched_face_id=face_id,
                                 face_matches=[views.face_match(h.meta, h.similarity) for h in hits],
                                 face_model_version=d.engine_model_version)
