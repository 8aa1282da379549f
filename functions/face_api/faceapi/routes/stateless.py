"""Stateless detect and compare, the same face shapes as `facesearch detect/compare --json`
(operations: detect, compare)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import deps, images, views
from faceapi import models as m
from facepolicy.http import requires

router = APIGatewayHttpRouter()


@router.post("/detect", tags=["stateless"], summary="Detect faces (boxes, confidence, landmarks, quality)",
             middlewares=[requires("detect", deps.gate)], responses=m.ERROR_RESPONSES)
def detect(d: deps.Container, body: Annotated[m.DetectRequest, Body()]) -> m.DetectResponse:
    detection = d.engine.detect(images.decode_base64_image(body.image), max_bytes=m.MAX_IMAGE_BYTES)
    return m.DetectResponse(image=m.ImageSize(width=detection.width, height=detection.height),
                            faces=[views.face_detail(f) for f in detection.faces])


@router.post("/compare", tags=["stateless"],
             summary="Compare the largest face of the source image with the faces of the target image",
             description="A source image without a face is not an error: `source_face` is null and both lists "
                         "are empty.",
             middlewares=[requires("compare", deps.gate)], responses=m.ERROR_RESPONSES)
def compare(d: deps.Container, body: Annotated[m.CompareRequest, Body()]) -> m.CompareResponse:
    engine = d.engine
    source_bytes = images.decode_base64_image(body.source_image, "source_image")
    target_bytes = images.decode_base64_image(body.target_image, "target_image")
    source = engine.analyze(source_bytes, max_faces=1, quality_filter=body.quality_filter,
                            max_bytes=m.MAX_IMAGE_BYTES)
    if not source.faces:
        engine.decode(target_bytes, max_bytes=m.MAX_IMAGE_BYTES)  # a bad target is still a 400
        return m.CompareResponse(source_face=None, face_matches=[], unmatched_faces=[])
    result = engine.compare(source.faces[0], target_bytes, threshold=body.threshold, max_bytes=m.MAX_IMAGE_BYTES)
    return m.CompareResponse(
        source_face=views.face_detail(result.source_face),
        face_matches=[m.ComparedFace(similarity=round(c.similarity, 3), face=views.face_detail(c.face))
                      for c in result.matches],
        unmatched_faces=[views.face_detail(c.face) for c in result.unmatched])
