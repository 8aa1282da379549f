"""Faces of a collection: list and delete (operations: manage, delete)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import deps, views
from faceapi import models as m
from facepolicy.http import current_customer_id, requires

router = APIGatewayHttpRouter()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
MaxResults = Annotated[int, Query(ge=1, le=m.MAX_LIST_RESULTS, description="Page size.")]
NextToken = Annotated[str | None, Query(max_length=2048, description="The next_token of the previous page.")]


@router.get("/collections/<collection_id>/faces", tags=["faces"], summary="List the faces of a collection",
            middlewares=[requires("manage", deps.gate)], responses=m.ERROR_RESPONSES)
def list_faces(d: deps.Container, collection_id: CollectionPath, max_results: MaxResults = m.DEFAULT_LIST_RESULTS,
               next_token: NextToken = None) -> m.FaceList:
    items, token = d.store.list_faces(current_customer_id(router), collection_id, max_results, next_token or None)
    return m.FaceList(faces=[views.stored_face(f) for f in items], next_token=token,
                      face_model_version=d.engine_model_version)


@router.delete("/collections/<collection_id>/faces", tags=["faces"],
               summary="Delete faces (per-face outcome, as Rekognition's DeleteFaces)",
               middlewares=[requires("delete", deps.gate)], responses=m.ERROR_RESPONSES)
def delete_faces(d: deps.Container, collection_id: CollectionPath,
                 body: Annotated[m.DeleteFacesRequest, Body()]) -> m.DeleteFacesResponse:
    deleted, failed = d.store.delete_faces(current_customer_id(router), collection_id,
                                           list(dict.fromkeys(body.face_ids)))
    return m.DeleteFacesResponse(deleted_faces=deleted, unsuccessful_face_deletions=views.unsuccessful(failed))
