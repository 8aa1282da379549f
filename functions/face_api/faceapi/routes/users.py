"""Users (a person with up to 100 faces, as Rekognition's users) and user search (operations: users, delete)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import deps, views
from faceapi import models as m
from faceapi import search as usecase
from facepolicy.http import audited, current_customer_id, requires

router = APIGatewayHttpRouter()

CollectionPath = Annotated[str, Path(pattern=m.ID_PATTERN, description="The collection id.")]
UserPath = Annotated[str, Path(pattern=m.USER_ID_PATTERN, description="The user id.")]
MaxResults = Annotated[int, Query(ge=1, le=m.MAX_USERS_RESULT, description="Page size.")]
NextToken = Annotated[str | None, Query(max_length=2048, description="The next_token of the previous page.")]

# Face hits read to find max_users distinct users (a user has at most 100 faces).
_USER_SEARCH_FACES = m.MAX_SEARCH_FACES


@router.post("/collections/<collection_id>/users", tags=["users"], summary="Create a user",
             middlewares=[requires("users", deps.gate)], responses=m.created())
def create_user(d: deps.Container, collection_id: CollectionPath,
                body: Annotated[m.CreateUserRequest, Body()]) -> tuple[m.UserDescription, int]:
    created = d.store.create_user(current_customer_id(router), collection_id, body.user_id)
    return views.user(created), 201


@router.get("/collections/<collection_id>/users", tags=["users"], summary="List users",
            middlewares=[requires("users", deps.gate)], responses=m.ERROR_RESPONSES)
def list_users(d: deps.Container, collection_id: CollectionPath, max_results: MaxResults = m.DEFAULT_LIST_RESULTS,
               next_token: NextToken = None) -> m.UserList:
    items, token = d.store.list_users(current_customer_id(router), collection_id, max_results, next_token or None)
    return m.UserList(users=[views.user(u) for u in items], next_token=token)


@router.delete("/collections/<collection_id>/users/<user_id>", tags=["users"],
               summary="Delete a user (its faces stay in the collection)",
               middlewares=[requires("delete", deps.gate)], responses=m.ERROR_RESPONSES)
def delete_user(d: deps.Container, collection_id: CollectionPath, user_id: UserPath) -> m.DeletedUser:
    d.store.delete_user(current_customer_id(router), collection_id, user_id)
    return m.DeletedUser(user_id=user_id)


@router.post("/collections/<collection_id>/users/<user_id>/faces", tags=["users"],
             summary="Associate faces with a user (at most 100 faces per user)",
             description="When the user already has faces, a face must match them with at least "
                         "`user_match_threshold`, else it is refused with LOW_MATCH_CONFIDENCE.",
             middlewares=[requires("users", deps.gate)], responses=m.ERROR_RESPONSES)
def associate_faces(d: deps.Container, collection_id: CollectionPath, user_id: UserPath,
                    body: Annotated[m.AssociateFacesRequest, Body()]) -> m.AssociateFacesResponse:
    customer_id = current_customer_id(router)
    existing, face_ids, low = usecase.screen_for_user(d, customer_id, collection_id, user_id,
                                                      list(dict.fromkeys(body.face_ids)),
                                                      threshold=body.user_match_threshold)
    associated, failed = (d.store.associate_faces(customer_id, collection_id, user_id, face_ids)
                          if face_ids else ([], []))
    unsuccessful = [m.UnsuccessfulAssociation(face_id=u.face_id, reasons=u.reasons)
                    for u in views.unsuccessful(failed)]
    unsuccessful += [m.UnsuccessfulAssociation(face_id=fid, reasons=[usecase.LOW_MATCH_CONFIDENCE],
                                               similarity=round(sim, 3)) for fid, sim in low]
    count = len(set(existing) | set(associated))
    return m.AssociateFacesResponse(associated_faces=associated, unsuccessful_face_associations=unsuccessful,
                                    user_status=views.user_status(count))


@router.delete("/collections/<collection_id>/users/<user_id>/faces", tags=["users"],
               summary="Disassociate faces from a user",
               middlewares=[requires("users", deps.gate)], responses=m.ERROR_RESPONSES)
def disassociate_faces(d: deps.Container, collection_id: CollectionPath, user_id: UserPath,
                       body: Annotated[m.DisassociateFacesRequest, Body()]) -> m.DisassociateFacesResponse:
    customer_id = current_customer_id(router)
    removed, failed = d.store.disassociate_faces(customer_id, collection_id, user_id,
                                                 list(dict.fromkeys(body.face_ids)))
    user = d.store.get_user(customer_id, collection_id, user_id)
    return m.DisassociateFacesResponse(disassociated_faces=removed,
                                       unsuccessful_face_disassociations=views.unsuccessful(failed),
                                       user_status=views.user_status(len(user.face_ids) if user else 0))


@router.post("/collections/<collection_id>/users/search", tags=["users"],
             summary="Search users with the largest face of an image",
             description="No usable face in the image is not an error: `user_matches` is empty.",
             middlewares=[requires("users", deps.gate, audit_while_parsing=True)], responses=m.ERROR_RESPONSES)
def search_users_by_image(d: deps.Container, collection_id: CollectionPath,
                          body: Annotated[m.SearchUsersByImageRequest, Body()]) -> m.SearchUsersByImageResponse:
    found = usecase.search_by_image(d, current_customer_id(router), collection_id, body,
                                    quality_filter=body.quality_filter, max_faces=_USER_SEARCH_FACES,
                                    threshold=body.user_match_threshold,
                                    audited=lambda: audited(router))
    searched, matches = found.searched, usecase.user_matches(found.hits, max_users=body.max_users)
    return m.SearchUsersByImageResponse(
        searched_face_bounding_box=views.box(searched.face.box.to_dict()) if searched.face else None,
        searched_face_confidence=round(searched.face.confidence, 3) if searched.face else None,
        unsearched_face_count=searched.unsearched_count,
        user_matches=[_user_match(uid, sim) for uid, sim in matches],
        face_model_version=d.engine_model_version)


@router.post("/collections/<collection_id>/users/<user_id>/search", tags=["users"],
             summary="Search other users similar to a user (its faces' mean vector)",
             middlewares=[requires("users", deps.gate)], responses=m.ERROR_RESPONSES)
def search_users(d: deps.Container, collection_id: CollectionPath, user_id: UserPath,
                 body: Annotated[m.SearchUsersRequest, Body()]) -> m.SearchUsersResponse:
    customer_id = current_customer_id(router)
    reference, own = usecase.user_vector(d, customer_id, collection_id, user_id)
    matches: list[tuple[str, float]] = []
    if reference is not None:
        hits = usecase.search_faces(d, customer_id, collection_id, reference, max_faces=_USER_SEARCH_FACES,
                                    threshold=body.user_match_threshold, exclude=own)
        matches = usecase.user_matches(hits, max_users=body.max_users, exclude_user=user_id)
    return m.SearchUsersResponse(searched_user_id=user_id, user_matches=[_user_match(u, s) for u, s in matches],
                                 face_model_version=d.engine_model_version)


def _user_match(user_id: str, similarity: float) -> m.UserMatch:
    return m.UserMatch(similarity=round(similarity, 3), user=m.MatchedUser(user_id=user_id))
