"""The search use cases: which face is searched, the vector-index query, users from face matches.

`search_by_image` is the one search by image, ordered once for the routes that search with a photo
(faces, users, a chosen face): decode a photo sent inline while the allow's audit record is written,
then start the index freshness check and detect and embed the largest face while it runs, then query.
Search by image embeds the largest usable face only (as Rekognition's SearchFacesByImage). An image
without a usable face is not an error: the result is empty and `searched_face` is None (users asked
for this: CompreFace #1223, aws-sdk-java #971). Matches come from the warm vector index; the face
metadata it keeps answers the result without a DynamoDB read per match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from faceapi import images
from faceapi.deps import Deps
from faceapi.models import ImageSource
from faceengine import SEARCH_MAX_SIDE, SEARCH_MIN_SIDE, DetectedFace, cosine_to_similarity, similarity_to_cosine
from facestore.errors import CollectionNotFound, FaceNotFound, UserNotFound
from facestore.model import FaceMeta

Vector = npt.NDArray[np.float32]
LOW_MATCH_CONFIDENCE = "LOW_MATCH_CONFIDENCE"


@dataclass(frozen=True)
class SearchedFace:
    """The face of the request image that was searched (None: no usable face), and how many were not."""

    face: DetectedFace | None
    embedding: Vector | None
    unsearched_count: int


_SYNC_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-sync")  # one request at a time


@dataclass(frozen=True)
class Hit:
    meta: FaceMeta
    similarity: float


FacePicker = Callable[[bytes, int], SearchedFace]  # (image bytes, byte limit) -> the face to search


@dataclass(frozen=True)
class ImageSearch:
    """The face searched (see SearchedFace) and its matches, best first."""

    searched: SearchedFace
    hits: list[Hit]


def search_by_image(d: Deps, customer_id: str, collection_id: str, source: ImageSource, *, quality_filter: str,
                    max_faces: int, threshold: float, audited: Callable[[], None],
                    pick: FacePicker | None = None) -> ImageSearch:
    """Search a collection with the largest face of the request's image (base64 or an uploaded object),
    or with the face `pick(image bytes, byte limit)` chooses (the console's chosen face).

    `audited()` returns once the caller's allow is on record (facepolicy.http.audited). Until then only the
    request's own bytes are parsed: a photo sent inline is decoded while its audit record is written; an
    uploaded object is read, and any face detected, only after. The index freshness check (a DynamoDB read,
    and a delta or snapshot when stale) overlaps the embedding; a missing or another customer's collection
    raises CollectionNotFound (404) once the image has been read, so a bad image is reported first.
    """
    def read() -> tuple[bytes, int]:
        return images.request_image(source, d.s3, d.settings.uploads_bucket, customer_id, collection_id)

    inline = source.image is not None and pick is None
    if inline:
        data, limit = read()
        image = d.engine.decode(data, max_bytes=limit)  # the request's own bytes, while the record is written
    audited()
    if not inline:
        data, limit = read()
    index_ready = prefetch_index(d, customer_id, collection_id)
    try:
        if pick is not None:
            searched = pick(data, limit)
        else:
            searched = searched_face(d, image if inline else d.engine.decode(data, max_bytes=limit),
                                     quality_filter=quality_filter)
    except BaseException:
        # a bad image answers at once, but the freshness check must not outlive the request (Lambda freezes
        # the container once it has answered; its engine choice may write the collection item)
        wait([index_ready])
        raise
    index_ready.result()
    hits = [] if searched.embedding is None else search_faces(
        d, customer_id, collection_id, searched.embedding, max_faces=max_faces, threshold=threshold, synced=True)
    return ImageSearch(searched, hits)


def searched_face(d: Deps, image: Image.Image, *, quality_filter: str) -> SearchedFace:
    """Detect, filter by quality, keep the largest face and embed it (one embedding, not one per face).

    Detection runs at SEARCH_MAX_SIDE (or down to SEARCH_MIN_SIDE where a box reduce alone gets there): only
    the largest face is searched, and it is found as well at a smaller input; faces too small to be seen there
    are not counted among the unsearched ones. The face is aligned from the full-resolution image.
    """
    analysis = d.engine.analyze_image(image, max_faces=1, quality_filter=quality_filter,
                                      detect_max_side=SEARCH_MAX_SIDE, detect_min_side=SEARCH_MIN_SIDE)
    if not analysis.faces:
        return SearchedFace(None, None, len(analysis.unindexed))
    top = analysis.faces[0]
    return SearchedFace(top.face, top.embedding, len(analysis.unindexed))


def prefetch_index(d: Deps, customer_id: str, collection_id: str) -> Future[None]:
    """Start the index's freshness check (a DynamoDB read, and a delta or snapshot when stale) on a
    worker thread, so that it overlaps the query image's embedding instead of following it."""
    return _SYNC_POOL.submit(d.index.sync, customer_id, collection_id, model_version=d.engine_model_version)


def search_faces(d: Deps, customer_id: str, collection_id: str, query: Vector, *, max_faces: int,
                 threshold: float, exclude: Sequence[str] = (), synced: bool = False) -> list[Hit]:
    """The most similar faces at or above `threshold` (0-100), best first, without the `exclude` ids."""
    hits = d.index.search(customer_id, collection_id, query, max_faces=max_faces + len(exclude),
                          min_cosine=similarity_to_cosine(threshold), synced=synced,
                          model_version=d.engine_model_version)
    skip = set(exclude)
    hits = [(face_id, cosine) for face_id, cosine in hits if face_id not in skip]
    metas = d.index.faces_meta(customer_id, collection_id, [face_id for face_id, _ in hits])  # read together
    out = [Hit(meta, _similarity(cosine)) for (_, cosine), meta in zip(hits, metas, strict=True)
           if meta is not None]  # None: deleted between the search and now
    return out[:max_faces]


def stored_embedding(d: Deps, customer_id: str, collection_id: str, face_id: str) -> Vector:
    face = d.store.get_face(customer_id, collection_id, face_id)
    if face is None:
        if d.store.get_collection(customer_id, collection_id) is None:
            raise CollectionNotFound(collection_id)
        raise FaceNotFound(face_id)
    return np.asarray(face.embedding, dtype=np.float32)


def user_vector(d: Deps, customer_id: str, collection_id: str, user_id: str) -> tuple[Vector | None, tuple[str, ...]]:
    """The mean (re-normalised) embedding of a user's faces, or None for a user without faces."""
    user = d.store.get_user(customer_id, collection_id, user_id)
    if user is None:
        if d.store.get_collection(customer_id, collection_id) is None:
            raise CollectionNotFound(collection_id)
        raise UserNotFound(user_id)
    vectors = [f.embedding for f in (d.store.get_face(customer_id, collection_id, fid) for fid in user.face_ids)
               if f is not None]
    if not vectors:
        return None, user.face_ids
    return normalized(np.mean(np.stack(vectors), axis=0, dtype=np.float32)), user.face_ids


def screen_for_user(d: Deps, customer_id: str, collection_id: str, user_id: str, face_ids: list[str], *,
                    threshold: float) -> tuple[tuple[str, ...], list[str], list[tuple[str, float]]]:
    """AssociateFaces' UserMatchThreshold: (the user's faces, ids to associate, [(refused id, similarity)]).

    A user without faces takes any face; otherwise a face must match the user's mean vector with at
    least `threshold`. Missing faces pass through so that the store reports them (FACE_NOT_FOUND).
    """
    reference, existing = user_vector(d, customer_id, collection_id, user_id)
    if reference is None:
        return existing, face_ids, []
    accepted: list[str] = []
    refused: list[tuple[str, float]] = []
    for face_id in face_ids:
        face = None if face_id in existing else d.store.get_face(customer_id, collection_id, face_id)
        if face is None:
            accepted.append(face_id)
            continue
        similarity = _similarity(float(np.dot(reference, face.embedding)))
        if similarity >= threshold:
            accepted.append(face_id)
        else:
            refused.append((face_id, similarity))
    return existing, accepted, refused


def normalized(v: Vector) -> Vector:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else v.astype(np.float32)


def user_matches(hits: Sequence[Hit], *, max_users: int, exclude_user: str | None = None) -> list[tuple[str, float]]:
    """(user id, best similarity of its faces) for the users among face hits, best first."""
    best: dict[str, float] = {}
    for hit in hits:
        uid = hit.meta.user_id
        if uid and uid != exclude_user and hit.similarity > best.get(uid, -1.0):
            best[uid] = hit.similarity
    return sorted(best.items(), key=lambda kv: -kv[1])[:max_users]


def _similarity(cosine: float) -> float:
    return float(cosine_to_similarity(float(cosine)))
