"""Image bytes of a request: base64 from the body, or an object the customer uploaded; size limits.

Uploads live at facestore.uploads' key layout (the indexer reads the same module), so a customer can
only ever name its own objects: the customer part of the key comes from the authorizer, not the body.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.exceptions import ClientError

from faceapi.errors import ImageTooLarge, InvalidParameter, ResourceNotFound
from faceapi.models import MAX_IMAGE_BYTES, MAX_UPLOAD_BYTES, ImageSource
from facestore.uploads import object_missing, upload_key

_MAX_B64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4  # the longest base64 text of a MAX_IMAGE_BYTES image


EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


def content_image_id(image_id: str | None, content_type: str) -> tuple[str | None, str | None]:
    """(image id, base64 SHA-256 for S3 to check) of a client-named image (`<hex sha256>.<ext>`), or (None, None).

    The format is checked by the request model; here the extension must match the declared content type.
    """
    if image_id is None:
        return None, None
    digest, _, extension = image_id.partition(".")
    if "." + extension != EXTENSIONS[content_type]:
        raise InvalidParameter(f"image_id: a {content_type} image is named <sha256>{EXTENSIONS[content_type]}")
    return image_id, base64.b64encode(bytes.fromhex(digest)).decode("ascii")


def decode_base64_image(text: str, field: str = "image") -> bytes:
    """Decoded image bytes; 400 for empty or malformed base64, 413 above 5 MB (checked before decoding).

    Strict base64 (standard alphabet, padded); whitespace is dropped first (line-wrapped base64), but only
    when there is any: a search's photo is ~250k characters, and copying them to look for none cost more than
    the strict decode itself, which refuses whitespace, so the text is compacted only when that decode fails."""
    if len(text) > _MAX_B64_CHARS:  # whitespace may make it look longer than it is
        text = _compact(text)
        if len(text) > _MAX_B64_CHARS:
            raise ImageTooLarge(f"{field}: the decoded image must be at most {MAX_IMAGE_BYTES} bytes")
    try:
        data = _strict_b64(text, field)
    except InvalidParameter:
        compact = _compact(text)
        if compact == text:
            raise
        data = _strict_b64(compact, field)
    if not data:
        raise InvalidParameter(f"{field}: the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"{field}: the decoded image must be at most {MAX_IMAGE_BYTES} bytes")
    return data


def _compact(text: str) -> str:
    return "".join(text.split())


def _strict_b64(text: str, field: str) -> bytes:
    """The check and result of base64.b64decode(text, validate=True): binascii's strict mode, on the str."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: a str with non-ASCII characters
        raise InvalidParameter(f"{field}: not valid base64") from exc


def read_upload(s3: Any, bucket: str, customer_id: str, collection_id: str, image_id: str) -> bytes:
    """The bytes of an uploaded image of this customer's collection; 404 if there is none, 413 above 15 MB."""
    key = upload_key(customer_id, collection_id, image_id)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if object_missing(exc.response):
            raise ResourceNotFound("the image does not exist") from exc
        raise
    if int(obj.get("ContentLength", 0)) > MAX_UPLOAD_BYTES:
        obj["Body"].close()
        raise ImageTooLarge(f"s3_object: the image must be at most {MAX_UPLOAD_BYTES} bytes")
    data: bytes = obj["Body"].read()
    return data


def request_image(source: ImageSource, s3: Any, bucket: str, customer_id: str, collection_id: str) -> tuple[bytes, int]:
    """(image bytes, the byte limit the engine applies): base64 ≤ 5 MB, an uploaded object ≤ 15 MB."""
    if source.image is not None:
        return decode_base64_image(source.image), MAX_IMAGE_BYTES
    if source.s3_object is None:  # excluded by the model; kept for the type checker
        raise InvalidParameter("give exactly one of image and s3_object")
    return read_upload(s3, bucket, customer_id, collection_id, source.s3_object.image_id), MAX_UPLOAD_BYTES


def upload_exists(s3: Any, bucket: str, customer_id: str, collection_id: str, image_id: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=upload_key(customer_id, collection_id, image_id))
    except ClientError as exc:
        if object_missing(exc.response):
            return False
        raise
    return True
