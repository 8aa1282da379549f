"""Helpers of the face_api functional tests (a uniquely named module: other suites have a conftest too).

`Api` invokes the handler with an events/http_*.json event (customer, path, query and body swapped in)
and returns (status, parsed body); faces are put through the store API with real embeddings.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facesearch.local.template import Provisioned
from tests.support.events import load_event

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
CUSTOMER = "acme-photos"
OTHER = "other-co"
POLICE = "metro-police"
COLLECTION = "family"


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def blank_jpeg(size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG without a face."""
    out = io.BytesIO()
    Image.new("RGB", size, (120, 160, 200)).save(out, format="JPEG")
    return out.getvalue()


def side_by_side(*names: str, scales: tuple[float, ...] | None = None) -> bytes:
    """A JPEG of the named photos side by side on grey, each resized by its scale (default 1)."""
    images = [Image.open(io.BytesIO(photo(n))).convert("RGB") for n in names]
    images = [i if s == 1 else i.resize((round(i.width * s), round(i.height * s)), Image.Resampling.LANCZOS)
              for i, s in zip(images, scales or (1.0,) * len(images), strict=True)]
    out = Image.new("RGB", (sum(i.width for i in images), max(i.height for i in images)), (128, 128, 128))
    x = 0
    for image in images:
        out.paste(image, (x, 0))
        x += image.width
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class FakeContext:
    function_name: str = "FaceApiFunction"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:FaceApiFunction"
    aws_request_id: str = "5a7e2c1d-7b61-11e6-9a41-93e812345678"


@dataclass
class Api:
    module: Any
    deps: Any
    env: dict[str, str]
    provisioned: Provisioned
    session: Any

    @property
    def store(self) -> Any:
        return self.deps.store

    def use(self, deps: Any) -> None:
        """Serve the following requests with `deps` (Powertools' dependency_overrides)."""
        from faceapi.deps import get_deps

        self.deps = deps
        self.module.app.dependency_overrides[get_deps] = lambda: deps

    @property
    def uploads_bucket(self) -> str:
        return self.provisioned.buckets["UploadsBucket"]

    def event(self, name: str, *, customer: str | None = CUSTOMER, path: dict[str, str] | None = None,
              query: dict[str, str] | None = None, body: Any = ..., raw_body: str | None = None) -> dict[str, Any]:
        """The named event with the customer, path parameters, query and body replaced."""
        event = load_event(name)
        ctx = event["requestContext"]
        if customer is None:
            ctx.pop("authorizer", None)
        else:
            ctx.setdefault("authorizer", {"lambda": {}})["lambda"]["customer_id"] = customer
        if path is not None:
            params = {**event.get("pathParameters", {}), **path}
            event["pathParameters"] = params
            route = ctx["routeKey"].split(" ", 1)[1]
            concrete = route
            for key, value in params.items():
                concrete = concrete.replace("{" + key + "}", value)
            event["rawPath"] = ctx["http"]["path"] = f"/prod{concrete}"
        if query is not None:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if raw_body is not None:
            event["body"] = raw_body
        elif body is not ...:
            event["body"] = json.dumps(body)
        return event

    def call(self, name: str, **kwargs: Any) -> tuple[int, Any]:
        response = self.module.lambda_handler(self.event(name, **kwargs), FakeContext())
        text = response.get("body") or ""
        if response.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        ctype = (response.get("headers") or {}).get("Content-Type", "")
        return response["statusCode"], json.loads(text) if text and "json" in ctype else text

    # ---------------------------------------------------------- seeding through the store
    def create_collection(self, collection_id: str = COLLECTION, customer: str = CUSTOMER) -> None:
        status, body = self.call("http_create_collection", customer=customer, body={"collection_id": collection_id})
        if status != 201:
            raise RuntimeError(f"create collection failed: {status} {body}")

    def put_face(self, image_id: str, embedding: Any, *, customer: str = CUSTOMER, collection: str = COLLECTION,
                 external_image_id: str | None = None, box: dict[str, float] | None = None) -> str:
        from facestore import Face, face_id_for

        face_id = face_id_for(customer, collection, image_id, "v1", 0)
        face = Face(customer_id=customer, collection_id=collection, face_id=face_id, image_id=image_id,
                    external_image_id=external_image_id,
                    box=box or {"left": 10.0, "top": 20.0, "width": 100.0, "height": 120.0}, landmarks=(),
                    confidence=99.0, quality={}, embedding=np.asarray(embedding, dtype=np.float32),
                    model_version="sface-test", indexed_at="2026-11-26T12:00:00.000Z")
        self.store.put_faces(customer, collection, [face])
        return face_id

    def put_photo_faces(self, photo_faces: dict[str, Any], names: tuple[str, ...], *,
                        customer: str = CUSTOMER, collection: str = COLLECTION) -> dict[str, str]:
        """The largest face of each named photo, stored; image id = the photo name."""
        return {name: self.put_face(name, photo_faces[name].faces[0].embedding, customer=customer,
                                    collection=collection, external_image_id=name.replace(".jpg", ""),
                                    box=photo_faces[name].faces[0].face.box.to_dict())
                for name in names}


