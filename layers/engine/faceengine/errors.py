"""Typed engine errors with stable codes (the HTTP layer maps them to responses)."""

from __future__ import annotations

IMAGE_ERROR_CODES = (
    "EMPTY_IMAGE",
    "TRUNCATED_IMAGE",
    "NOT_AN_IMAGE",
    "UNSUPPORTED_FORMAT",
    "IMAGE_TOO_LARGE",
    "TOO_MANY_PIXELS",
    "IMAGE_TOO_SMALL",
)


class ImageError(ValueError):
    """The image bytes cannot be used; `code` is one of IMAGE_ERROR_CODES and is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ModelError(RuntimeError):
    """The prepared models are missing or do not match their manifest."""


class NoFaceError(ValueError):
    """An image that must contain a face (a comparison's source) has none; code NO_FACE."""

    code = "NO_FACE"

    def __init__(self, message: str = "no face was detected in the image") -> None:
        super().__init__(message)
        self.message = message
