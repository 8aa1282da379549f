"""Request and response models of the customer HTTP API (pydantic; the OpenAPI document is made from them).

Requests forbid unknown fields and take numbers strictly (`"5"` or `true` for an integer is a 400; an
integral number such as `5.0` is an integer, as JSON Schema says). Optional fields are left out, not
sent as null. Responses are plain models built by the routes from the store's and engine's value types.
The statuses and error bodies of each route are completed by `faceapi.contract`.

Every model derives from `Model`, whose validators are built on first use (pydantic's `defer_build`), not
at import: face_api has some 60 models and a container's first request uses a few (building all of them
took ~75 ms of a cold start here). Validation is the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from facestore import uploads

# ---------------------------------------------------------------- identifiers and limits
ID_PATTERN = r"^[a-zA-Z0-9_.\-]{1,255}$"  # collection, face and image ids (Rekognition's CollectionId)
USER_ID_PATTERN = r"^[a-zA-Z0-9_.\-:]{1,128}$"  # Rekognition's UserId
EXTERNAL_ID_PATTERN = r"^[a-zA-Z0-9_.\-:]{1,255}$"  # Rekognition's ExternalImageId
CONTENT_IMAGE_ID_PATTERN = r"^[0-9a-f]{64}\.(jpg|png)$"  # a client-named image: SHA-256 of its bytes + extension

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # decoded base64 image (Rekognition: 5 MB as raw bytes)
MAX_UPLOAD_BYTES = uploads.MAX_UPLOAD_BYTES  # uploaded object (Rekognition: 15 MB as an S3 object)
MAX_SEARCH_FACES = 4096
DEFAULT_SEARCH_FACES = 10
MAX_USERS_RESULT = 500
DEFAULT_USERS_RESULT = 10
DEFAULT_USER_MATCH_THRESHOLD = 80.0  # SearchUsers' UserMatchThreshold default
DEFAULT_ASSOCIATE_THRESHOLD = 75.0  # AssociateFaces' UserMatchThreshold default
MAX_FACES_PER_IMAGE = 100
MAX_LIST_RESULTS = 1000
DEFAULT_LIST_RESULTS = 100

# An 80x80 grey PNG: a valid image without a face (examples must be accepted as they are).
EXAMPLE_IMAGE = ("iVBORw0KGgoAAAANSUhEUgAAAFAAAABQCAAAAACreq1xAAAAM0lEQVR42u3MMREAAAgEoNfkRreEkwcBqMmtjlAoFAqFQqFQKBQK"
                 "hUKhUCgUCoVC4atwAar8ASBPeyECAAAAAElFTkSuQmCC")


def _integral(value: Any) -> Any:
    """5.0 -> 5 (JSON Schema's integer); 5.5, "5" and true are left for strict validation to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_integral)]
FacesPerImage = Annotated[int, Field(ge=1, le=MAX_FACES_PER_IMAGE), BeforeValidator(_integral)]  # for `| None`
CollectionId = Annotated[str, Field(pattern=ID_PATTERN, examples=["family-photos"])]
FaceId = Annotated[str, Field(pattern=ID_PATTERN, examples=["3f1c9a52-5d2b-5f0e-9b61-1c0a8e2f7d44"])]
ImageId = Annotated[str, Field(pattern=ID_PATTERN, examples=["0b7e1c5e9f2a4d7c8a1b3c5d7e9f1a2b.jpg"])]
UserId = Annotated[str, Field(pattern=USER_ID_PATTERN, examples=["user:alice"])]
ExternalImageId = Annotated[str, Field(pattern=EXTERNAL_ID_PATTERN, examples=["IMG_0042.jpg"])]
QualityFilter = Literal["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]
Threshold = Annotated[float, Field(ge=0, le=100, strict=True)]
Base64Image = Annotated[str, Field(description="The image bytes (JPEG or PNG, at most 5 MB decoded), base64-encoded "
                                               "(standard alphabet, padded; whitespace is ignored).",
                                   min_length=1, examples=[EXAMPLE_IMAGE],
                                   json_schema_extra={"format": "byte", "contentEncoding": "base64"})]


class Model(BaseModel):
    """Base of face_api's models: validators built on first use (see the module docstring)."""

    model_config = ConfigDict(defer_build=True)


class Request(Model):
    """Base of request bodies: unknown fields are an error, numbers are not parsed from strings."""

    model_config = ConfigDict(extra="forbid", strict=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """A request's repr names a long string (a base64 photo) by its length only: Powertools formats every
        route's arguments into a DEBUG log line on each request, logged or not, so no photo reaches a log and
        a search does not copy its 5 MB string to build that line."""
        for name, value in super().__repr_args__():
            yield name, (_Elided(len(value)) if isinstance(value, str) and len(value) > REPR_MAX_CHARS else value)


REPR_MAX_CHARS = 256  # longer strings in a request's repr are shown by their length


class _Elided:
    def __init__(self, length: int) -> None:
        self.length = length

    def __repr__(self) -> str:
        return f"<{self.length} characters>"


# ---------------------------------------------------------------- shared response parts
class BoundingBox(Model):
    """A face box in pixels of the (orientation-corrected) image."""

    left: float
    top: float
    width: float
    height: float


class Landmark(Model):
    type: str
    x: float
    y: float


class Quality(Model):
    brightness: float
    sharpness: float
    yaw: float
    pitch: float
    roll: float


class FaceDetail(Model):
    """A detected face, the same shape as `facesearch detect` prints."""

    bounding_box: BoundingBox
    confidence: float = Field(description="Detector confidence, 0-100.")
    landmarks: list[Landmark]
    quality: Quality


class ImageSize(Model):
    width: int
    height: int


# ---------------------------------------------------------------- collections
class CollectionDefaults(Request):
    """Indexing defaults of a collection, used for uploads that do not set their own."""

    max_faces: FacesPerImage | None = None
    quality_filter: QualityFilter | None = None


class CreateCollectionRequest(Request):
    collection_id: CollectionId
    defaults: CollectionDefaults | None = None


class CollectionDescription(Model):
    collection_id: str
    face_count: int
    user_count: int
    face_model_version: str
    created_at: str
    defaults: dict[str, object] = Field(default_factory=dict)
    search_engine: str = Field(
        default="exact", description="exact (warm in-memory index) or vector (DynamoDB vector index): the "
                                     "engine serving this collection's searches now")


class CollectionList(Model):
    collections: list[CollectionDescription]
    next_token: str | None = None


class DeletedCollection(Model):
    """The collection, its faces, users, statuses and index are gone; its uploaded photos go with them. A very
    large collection may need more than one call for its photos: `done` is false until none is left (repeat
    the DELETE; it answers 404 once nothing of the collection remains)."""

    collection_id: str
    status: Literal["DELETED"] = "DELETED"
    deleted_photos: int = Field(0, description="Versions of uploaded photos deleted by this call.")
    done: bool = Field(True, description="False when photos remain: repeat the call.")


# ---------------------------------------------------------------- uploads and images
class CreateUploadRequest(Request):
    """Ask for a presigned PUT URL; the declared length is signed, so S3 refuses any other size."""

    # A content-named image_id's extension must match content_type (checked in faceapi.images).
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"content_type": {"const": kind}}, "required": ["content_type"]},
         "then": {"properties": {"image_id": {"pattern": rf"\{extension}$"}}}}
        for kind, extension in (("image/jpeg", ".jpg"), ("image/png", ".png"))]})

    content_type: Literal["image/jpeg", "image/png"]
    content_length: Integer = Field(ge=1, le=MAX_UPLOAD_BYTES,
                                description="The exact size in bytes of the image that will be PUT (≤ 15 MB).")
    external_image_id: ExternalImageId | None = None
    max_faces: FacesPerImage | None = None
    quality_filter: QualityFilter | None = None
    image_id: str | None = Field(
        default=None, pattern=CONTENT_IMAGE_ID_PATTERN,
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jpg"],
        description="Name the image by its content: the lowercase hex SHA-256 of the bytes, then .jpg or .png "
                    "(matching content_type). Asking again for the same bytes gives the same image, so a retried "
                    "or resumed upload never makes a second one; S3 refuses a PUT whose bytes have another hash. "
                    "Default: a new random id.")


class UploadTicket(Model):
    """How to upload: PUT the bytes to `url` with exactly `headers` (they are part of the signature)."""

    image_id: str
    method: Literal["PUT"] = "PUT"
    url: str
    headers: dict[str, str]
    expires_in: int = Field(description="Seconds the URL stays valid.")
    max_bytes: int


class UnindexedFace(Model):
    bounding_box: BoundingBox | None = None
    reasons: list[str]


class ImageStatusResponse(Model):
    """PENDING until the indexer has processed the upload, then its outcome."""

    image_id: str
    status: str = Field(examples=["INDEXED"], description=(
        "PENDING, INDEXED, NO_FACES, INVALID_IMAGE, REJECTED_POLICY, REJECTED_COLLECTION, "
        "REJECTED_QUOTA (max_faces_per_collection: no face stored)"))
    reason_code: str | None = None
    message: str | None = None
    face_ids: list[str] = Field(default_factory=list)
    unindexed_faces: list[UnindexedFace] = Field(default_factory=list)
    external_image_id: str | None = None
    updated_at: str | None = None


# ---------------------------------------------------------------- faces
class StoredFace(Model):
    face_id: str
    image_id: str
    external_image_id: str | None = None
    bounding_box: BoundingBox
    confidence: float
    user_id: str | None = None
    indexed_at: str | None = None


class FaceList(Model):
    faces: list[StoredFace]
    next_token: str | None = None
    face_model_version: str


class DeleteFacesRequest(Request):
    face_ids: list[FaceId] = Field(min_length=1, max_length=4096)


class UnsuccessfulFace(Model):
    face_id: str
    reasons: list[str]


class DeleteFacesResponse(Model):
    deleted_faces: list[str]
    unsuccessful_face_deletions: list[UnsuccessfulFace]


# ---------------------------------------------------------------- search
class S3Object(Request):
    """An image the caller already uploaded to this collection (POST .../uploads)."""

    image_id: ImageId


class ImageSource(Request):
    """Exactly one of `image` (base64 bytes) and `s3_object`."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["image"]}, {"required": ["s3_object"]}]})

    image: Base64Image | SkipJsonSchema[None] = None
    s3_object: S3Object | SkipJsonSchema[None] = None

    @field_validator("image", "s3_object", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the field out rather than sending null")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageSource:
        if (self.image is None) == (self.s3_object is None):
            raise ValueError("give exactly one of image and s3_object")
        return self


class SearchByImageRequest(ImageSource):
    max_faces: Integer = Field(default=DEFAULT_SEARCH_FACES, ge=1, le=MAX_SEARCH_FACES)
    threshold: Threshold = Field(default=80.0, description="Minimum similarity 0-100 (default 80).")
    quality_filter: QualityFilter = "NONE"


class SearchFacesRequest(Request):
    max_faces: Integer = Field(default=DEFAULT_SEARCH_FACES, ge=1, le=MAX_SEARCH_FACES)
    threshold: Threshold = Field(default=80.0, description="Minimum similarity 0-100 (default 80).")


class MatchedFace(Model):
    face_id: str
    image_id: str
    external_image_id: str | None = None
    bounding_box: BoundingBox
    user_id: str | None = None


class FaceMatch(Model):
    similarity: float
    face: MatchedFace


class SearchByImageResponse(Model):
    """`searched_face_bounding_box` is null (and `face_matches` empty) when the image has no usable face."""

    searched_face_bounding_box: BoundingBox | None
    searched_face_confidence: float | None
    unsearched_face_count: int
    face_matches: list[FaceMatch]
    face_model_version: str


class SearchFacesResponse(Model):
    searched_face_id: str
    face_matches: list[FaceMatch]
    face_model_version: str


# ---------------------------------------------------------------- users
class CreateUserRequest(Request):
    user_id: UserId


class UserDescription(Model):
    user_id: str
    user_status: Literal["ACTIVE", "CREATED"] = Field(description="ACTIVE once faces are associated.")
    face_ids: list[str] = Field(default_factory=list)
    created_at: str | None = None


class UserList(Model):
    users: list[UserDescription]
    next_token: str | None = None


class DeletedUser(Model):
    user_id: str
    status: Literal["DELETED"] = "DELETED"


class AssociateFacesRequest(Request):
    face_ids: list[FaceId] = Field(min_length=1, max_length=100)
    user_match_threshold: Threshold = Field(
        default=DEFAULT_ASSOCIATE_THRESHOLD,
        description="A face must match the user's existing faces at least this much (default 75).")


class DisassociateFacesRequest(Request):
    face_ids: list[FaceId] = Field(min_length=1, max_length=100)


class UnsuccessfulAssociation(Model):
    face_id: str
    reasons: list[str]
    similarity: float | None = None


class AssociateFacesResponse(Model):
    associated_faces: list[str]
    unsuccessful_face_associations: list[UnsuccessfulAssociation]
    user_status: str


class DisassociateFacesResponse(Model):
    disassociated_faces: list[str]
    unsuccessful_face_disassociations: list[UnsuccessfulFace]
    user_status: str


class SearchUsersByImageRequest(ImageSource):
    max_users: Integer = Field(default=DEFAULT_USERS_RESULT, ge=1, le=MAX_USERS_RESULT)
    user_match_threshold: Threshold = Field(default=DEFAULT_USER_MATCH_THRESHOLD)
    quality_filter: QualityFilter = "NONE"


class SearchUsersRequest(Request):
    max_users: Integer = Field(default=DEFAULT_USERS_RESULT, ge=1, le=MAX_USERS_RESULT)
    user_match_threshold: Threshold = Field(default=DEFAULT_USER_MATCH_THRESHOLD)


class MatchedUser(Model):
    user_id: str
    user_status: str = "ACTIVE"


class UserMatch(Model):
    similarity: float
    user: MatchedUser


class SearchUsersByImageResponse(Model):
    searched_face_bounding_box: BoundingBox | None
    searched_face_confidence: float | None
    unsearched_face_count: int
    user_matches: list[UserMatch]
    face_model_version: str


class SearchUsersResponse(Model):
    searched_user_id: str
    user_matches: list[UserMatch]
    face_model_version: str


# ---------------------------------------------------------------- stateless
class DetectRequest(Request):
    image: Base64Image


class DetectResponse(Model):
    """The faces as `facesearch detect --json` prints them, largest first."""

    image: ImageSize
    faces: list[FaceDetail]


class CompareRequest(Request):
    source_image: Base64Image
    target_image: Base64Image
    threshold: Threshold = Field(default=80.0)
    quality_filter: QualityFilter = "NONE"


class ComparedFace(Model):
    similarity: float
    face: FaceDetail


class CompareResponse(Model):
    """As one `facesearch compare --json` line: matches most similar first, unmatched largest first."""

    source_face: FaceDetail | None
    face_matches: list[ComparedFace]
    unmatched_faces: list[FaceDetail]


# The success response of a route; faceapi.contract adds every error status the route can answer.
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {200: {"description": "OK"}}


def created(description: str = "Created") -> dict[int, OpenAPIResponse]:
    return {201: {"description": description}}

