"""Response models from the store's and engine's value types (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faceapi import models as m
from faceengine import DetectedFace
from facestore.model import Collection, Face, FaceMeta, ImageStatus, User


def box(value: Mapping[str, Any]) -> m.BoundingBox:
    return m.BoundingBox(left=float(value.get("left", 0.0)), top=float(value.get("top", 0.0)),
                         width=float(value.get("width", 0.0)), height=float(value.get("height", 0.0)))


def collection(c: Collection, *, search_engine: str = "exact") -> m.CollectionDescription:
    return m.CollectionDescription(collection_id=c.collection_id, face_count=c.face_count, user_count=c.user_count,
                                   face_model_version=c.model_version, created_at=c.created_at,
                                   defaults=dict(c.defaults or {}), search_engine=search_engine)


def stored_face(f: Face) -> m.StoredFace:
    return m.StoredFace(face_id=f.face_id, image_id=f.image_id, external_image_id=f.external_image_id,
                        bounding_box=box(f.box), confidence=round(float(f.confidence), 3), user_id=f.user_id,
                        indexed_at=f.indexed_at or None)


def face_match(meta: FaceMeta, similarity: float) -> m.FaceMatch:
    return m.FaceMatch(similarity=round(float(similarity), 3),
                       face=m.MatchedFace(face_id=meta.face_id, image_id=meta.image_id,
                                          external_image_id=meta.external_image_id, bounding_box=box(meta.box),
                                          user_id=meta.user_id))


def image_status(s: ImageStatus) -> m.ImageStatusResponse:
    unindexed = []
    for item in s.unindexed:
        raw_box = item.get("bounding_box")
        reasons = item.get("reasons") or ()
        unindexed.append(m.UnindexedFace(bounding_box=box(raw_box) if isinstance(raw_box, Mapping) else None,
                                         reasons=[str(r) for r in reasons] if isinstance(reasons, list | tuple)
                                         else [str(reasons)]))
    return m.ImageStatusResponse(image_id=s.image_id, status=s.status, reason_code=s.reason_code, message=s.message,
                                 face_ids=list(s.face_ids), unindexed_faces=unindexed,
                                 external_image_id=s.external_image_id, updated_at=s.updated_at or None)


def user_status(face_count: int) -> str:
    """Rekognition's UserStatus: CREATED until faces are associated, then ACTIVE."""
    return "ACTIVE" if face_count else "CREATED"


def user(u: User) -> m.UserDescription:
    return m.UserDescription(user_id=u.user_id, user_status=user_status(len(u.face_ids)),  # type: ignore[arg-type]
                             face_ids=list(u.face_ids), created_at=u.created_at or None)


def face_detail(face: DetectedFace) -> m.FaceDetail:
    """The engine's face as `facesearch detect --json` prints it."""
    return m.FaceDetail.model_validate(face.to_dict())


def unsuccessful(pairs: list[tuple[str, str]]) -> list[m.UnsuccessfulFace]:
    """[(face id, reason)] -> one entry per face with all its reasons, in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for face_id, reason in pairs:
        grouped.setdefault(face_id, []).append(reason)
    return [m.UnsuccessfulFace(face_id=k, reasons=v) for k, v in grouped.items()]
