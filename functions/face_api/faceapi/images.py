"""Image bytes of a request: base64 from the body, or an object the customer uploaded; size limits.

Uploads live at uploads/{customer_id}/{collection_id}/{image_id} (the indexer reads the same layout),
so a customer can only ever name its own objects: the prefix comes from the authorizer, not the body.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.exceptions import ClientError

from faceapi.errors import ImageTooLarge, InvalidParameter, ResourceNotFound
from faceapi.models import MAX_IMAGE_BYTES, MAX_UPLOAD_BYTES

UPLOADS_PREFIX = "uploads"
_MAX_B64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4  # the longest base64 text of a MAX_IMAGE_BYTES image


def upload_key(customer_id: str, collection_id: str, image_id: str) -> str:
    return f"{UPLOADS_PREFIX}/{customer_id}/{collection_id}/{image_id}"


def decode_base64_image(text: str, field: str = "image") -> bytes:
    """Decoded image bytes; 400 for empty or malformed base64, 413 above 5 MB (checked before decoding)."""
    compact = "".join(text.split())  # tolerate line-wrapped base64
    if len(compact) > _MAX_B64_CHARS:
        raise ImageTooLarge(f"{field}: the decoded image must be at most {MAX_IMAGE_BYTES} bytes")
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameter(f"{field}: not valid base64") from exc
    if not data:
        raise InvalidParameter(f"{field}: the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"{field}: the decoded image must be at most {MAX_IMAGE_BYTES} bytes")
    return data


def read_upload(s3: Any, bucket: str, customer_id: str, collection_id: str, image_id: str) -> bytes:
    """The bytes of an uploaded image of this customer's collection; 404 if there is none, 413 above 15 MB."""
    key = upload_key(customer_id, collection_id, image_id)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
            raise ResourceNotFound("the image does not exist") from exc
        raise
    if int(obj.get("ContentLength", 0)) > MAX_UPLOAD_BYTES:
        obj["Body"].close()
        raise ImageTooLarge(f"s3_object: the image must be at most {MAX_UPLOAD_BYTES} bytes")
    data: bytes = obj["Body"].read()
    return data


def upload_exists(s3: Any, bucket: str, customer_id: str, collection_id: str, image_id: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=upload_key(customer_id, collection_id, image_id))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return False
        raise
    return True
