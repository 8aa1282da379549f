"""The facesearch HTTP client (`from facesearch import Client`): the API as typed methods, retries, clean errors.

Customer calls carry the `x-api-key` header; admin calls (`/admin/...`, IAM-authorized) are signed
with SigV4 for the `execute-api` service, using the local stack's admin key from its state file, or
else the default AWS credential chain. Every failure raises a `facesearch.errors.FacesearchError`
subclass that mirrors the API's codes; requests are retried as `facesearch.transport` describes.
Images are uploaded named by the SHA-256 of their bytes, so a retried or resumed upload lands on the
same image, and `skip_existing` skips files the collection already has without uploading them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from facesearch.errors import (
    ApiError,
    ConfigError,
    ConflictError,
    FacesearchError,
    ImageTooLargeError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RefusedError,
    UploadFailedError,
    api_error,
)
from facesearch.transport import Answer, Clock, RetrySettings, Transport

log = logging.getLogger(__name__)

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
CONTENT_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}
FINAL_STATUSES = ("INDEXED", "NO_FACES", "INVALID_IMAGE")  # and every REJECTED_*
SKIPPABLE_STATUSES = frozenset({"PENDING", *FINAL_STATUSES})  # an image already there; REJECTED_* are re-sent
SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})

__all__ = ["ApiError", "Client", "ConfigError", "IndexReport", "UploadResult", "content_image_id", "image_files"]


def default_state_file() -> Path:
    """The local stack's state file (`facesearch local serve` writes it)."""
    from facesearch.local.template import ROOT

    return Path(os.environ.get("FACESEARCH_STATE_FILE") or ROOT / ".facesearch" / "local.json")


def read_state(path: Path | None = None) -> dict[str, Any]:
    """The local stack's state, or {} when none is running."""
    path = path or default_state_file()
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state


def _region_of(endpoint: str) -> str | None:
    found = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", endpoint)
    return found.group(1) if found else None


def content_image_id(data: bytes, content_type: str) -> str:
    """The image id of these bytes: their lowercase hex SHA-256 and the type's extension (the API checks it)."""
    return hashlib.sha256(data).hexdigest() + CONTENT_EXTENSIONS[content_type]


# A file's own problem (its type, size or bytes) fails that file; anything else would fail every file.
_PER_FILE_ERRORS = (InvalidRequestError, ImageTooLargeError, UploadFailedError)


@dataclass
class UploadResult:
    """One file of an `index` run."""

    path: str
    image_id: str | None = None
    external_image_id: str | None = None
    status: str = "PENDING"  # PENDING, then the indexer's outcome; UPLOAD_FAILED, REFUSED or NOT_STARTED
    code: str | None = None
    message: str | None = None
    face_ids: list[str] = field(default_factory=list)
    skipped: bool = False  # already in the collection: not uploaded again (skip_existing)
    error: FacesearchError | None = field(default=None, repr=False, compare=False)  # what failed it, if anything

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "error"}

    @property
    def fails_every_file(self) -> bool:
        """Whether its error is not this file's own problem (the service is down, the caller refused...)."""
        return self.error is not None and not isinstance(self.error, _PER_FILE_ERRORS)


@dataclass
class IndexReport:
    """What `Client.index` did: one result per file, counts, and the error that stopped the run, if any."""

    results: list[UploadResult]
    complete: bool = True  # False if waiting ran out of time or was stopped
    error: FacesearchError | None = None  # the failure that stopped the run (service down, refused, ...)

    @property
    def summary(self) -> dict[str, int]:
        """Counts by outcome: indexed, no_face, invalid, refused, failed, pending, not_started, skipped."""
        counts: Counter[str] = Counter()
        for r in self.results:
            counts[_outcome(r.status)] += 1
            counts["skipped"] += r.skipped
        keys = ("indexed", "no_face", "invalid", "refused", "failed", "pending", "not_started", "skipped")
        return {k: counts[k] for k in keys}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"results": [r.to_dict() for r in self.results], "summary": self.summary,
                               "complete": self.complete}
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out


def _outcome(status: str) -> str:
    named = {"INDEXED": "indexed", "NO_FACES": "no_face", "INVALID_IMAGE": "invalid", "REFUSED": "refused",
             "PENDING": "pending", "NOT_STARTED": "not_started"}
    if status in named:
        return named[status]
    return "refused" if status.startswith("REJECTED") else "failed"


class Client:
    """The facesearch HTTP API.

    >>> client = Client("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", api_key="fs_...")
    >>> client.create_collection("archive", exist_ok=True)

    Every method raises a `facesearch.errors.FacesearchError` subclass on failure; results are the
    API's JSON documents as dicts (see GET /openapi.json for their fields).
    """

    def __init__(self, endpoint: str, *, api_key: str | None = None, region: str | None = None,
                 admin_credentials: Any = None, timeout: float | None = None,
                 retry: RetrySettings | None = None, clock: Clock | None = None,
                 transport: Transport | None = None) -> None:
        """`endpoint`: the API's base URL; `api_key`: a customer key; `admin_credentials`: botocore
        Credentials for the admin routes (default: the AWS credential chain); `timeout`: seconds to wait
        for an answer; `retry`: attempts and time bounds (default: RetrySettings.from_env())."""
        parsed = urlsplit(endpoint.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"the endpoint must be an http(s) URL, not {endpoint!r}")
        self.endpoint = endpoint.strip().rstrip("/")
        self.api_key = api_key
        self.region = region or _region_of(endpoint) or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._admin_credentials = admin_credentials
        if transport is None:
            settings = retry or RetrySettings.from_env()
            if timeout is not None:
                settings = replace(settings, read_timeout=timeout)
            transport = Transport(settings, clock=clock)
        self.transport = transport

    @classmethod
    def from_settings(cls, endpoint: str | None = None, api_key: str | None = None,
                      state_file: Path | None = None, *, retry: RetrySettings | None = None) -> Client:
        """Endpoint/key from the arguments, else FACESEARCH_ENDPOINT/FACESEARCH_API_KEY, else the local state."""
        state = read_state(state_file)
        endpoint = endpoint or os.environ.get("FACESEARCH_ENDPOINT") or state.get("endpoint")
        if not endpoint:
            raise ConfigError("no endpoint: start `facesearch local serve`, or set FACESEARCH_ENDPOINT / --endpoint")
        api_key = api_key or os.environ.get("FACESEARCH_API_KEY")
        credentials = None
        region = None
        if state and state.get("endpoint") == endpoint.rstrip("/"):
            from botocore.credentials import Credentials

            credentials = Credentials(state["admin_access_key_id"], state["admin_secret_access_key"])
            region = state.get("region")
        return cls(endpoint, api_key=api_key, region=region, admin_credentials=credentials, retry=retry)

    def with_key(self, api_key: str) -> Client:
        """The same endpoint, admin credentials and transport, another customer's key."""
        return Client(self.endpoint, api_key=api_key, region=self.region,
                      admin_credentials=self._admin_credentials, transport=self.transport)

    # ------------------------------------------------------------------ transport
    def _admin_creds(self) -> Any:
        if self._admin_credentials is None:
            import boto3

            creds = boto3.Session().get_credentials()
            if creds is None:
                raise ConfigError("admin commands need AWS credentials (or a running local stack)")
            self._admin_credentials = creds
        return self._admin_credentials

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                admin: bool = False, safe: bool | None = None) -> Any:
        """Send one request (with its retries); the decoded JSON answer, or a FacesearchError.

        `safe`: whether repeating the request is harmless (default: GET, HEAD, DELETE, PUT are; POST is not).
        """
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        url = self.endpoint + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if admin:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            signed = AWSRequest(method=method, url=url, data=data, headers=headers)
            SigV4Auth(self._admin_creds(), "execute-api", self.region).add_auth(signed)
            headers = dict(signed.headers.items())
        else:
            if not self.api_key:
                raise ConfigError("no API key: set FACESEARCH_API_KEY or --api-key")
            headers["x-api-key"] = self.api_key
        answer = self.transport.send(method, url, body=data or None, headers=headers,
                                     safe=method.upper() in SAFE_METHODS if safe is None else safe)
        return _decode(answer)

    # ------------------------------------------------------------------ admin
    def create_customer(self, *, name: str, sector: str, jurisdiction: str | None = None,
                        end_user_sectors: Iterable[str] = (), use_cases: Iterable[str] = (), status: str | None = None,
                        customer_id: str | None = None) -> dict[str, Any]:
        """Register a customer (admin); the answer holds `customer` and its first `api_key` (secret shown once)."""
        body: dict[str, Any] = {"name": name, "sector": sector, "end_user_sectors": list(end_user_sectors),
                                "use_cases": list(use_cases)}
        if jurisdiction:
            body["jurisdiction"] = jurisdiction
        if status:
            body["status"] = status
        if customer_id:
            body["customer_id"] = customer_id
        result: dict[str, Any] = self.request("POST", "/admin/customers", body=body, admin=True)
        return result

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        """A customer and its keys (admin)."""
        result: dict[str, Any] = self.request("GET", f"/admin/customers/{quote(customer_id)}", admin=True)
        return result

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], version: int | None = None
                        ) -> dict[str, Any]:
        """PATCH with optimistic locking (admin); reads the current version when none is given."""
        if version is None:
            version = int(self.get_customer(customer_id)["customer"]["version"])
        result: dict[str, Any] = self.request("PATCH", f"/admin/customers/{quote(customer_id)}",
                                              body={"version": version, **changes}, admin=True)
        return result

    def list_customers(self) -> list[dict[str, Any]]:
        """Every customer (admin), all pages."""
        out: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.request("GET", "/admin/customers", params={"limit": 100, "cursor": cursor}, admin=True)
            out.extend(page.get("customers", []))
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return out

    def create_key(self, customer_id: str) -> dict[str, Any]:
        """Issue an API key (admin); its secret is in the answer only."""
        result: dict[str, Any] = self.request("POST", f"/admin/customers/{quote(customer_id)}/keys", admin=True)
        return result

    def revoke_key(self, customer_id: str, key_id: str) -> dict[str, Any]:
        """Revoke an API key (admin)."""
        result: dict[str, Any] = self.request(
            "DELETE", f"/admin/customers/{quote(customer_id)}/keys/{quote(key_id)}", admin=True)
        return result

    def audit(self, *, customer_id: str = "", since: str = "", until: str = "", limit: int = 50
              ) -> list[dict[str, Any]]:
        """Audit records (admin): policy decisions and registry changes, newest first."""
        page = self.request("GET", "/admin/audit", admin=True, params={
            "customer_id": customer_id, "since": since, "until": until, "limit": limit})
        records: list[dict[str, Any]] = page.get("records", [])
        return records

    def seal_audit(self) -> dict[str, Any]:
        """Seal every closed audit period now (the scheduled function's code path)."""
        result: dict[str, Any] = self.request("POST", "/admin/audit/seal", admin=True)
        return result

    def verify_audit(self, *, since: str = "", anchor: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/admin/audit/verify", admin=True,
                                              params={"since": since, "anchor": anchor})
        return result

    def transparency_report(self, *, since: str = "30d", until: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/admin/report", admin=True,
                                              params={"since": since, "until": until})
        return result

    # ------------------------------------------------------------------ collections
    def create_collection(self, collection_id: str, defaults: Mapping[str, Any] | None = None, *,
                          exist_ok: bool = False) -> dict[str, Any]:
        """Create a collection (`defaults`: max_faces, quality_filter); with `exist_ok`, an existing one is fine."""
        body: dict[str, Any] = {"collection_id": collection_id}
        if defaults:
            body["defaults"] = dict(defaults)
        try:
            result: dict[str, Any] = self.request("POST", "/collections", body=body)
        except ConflictError:
            if not exist_ok:
                raise
            return self.describe_collection(collection_id)
        return result

    def list_collections(self) -> list[dict[str, Any]]:
        """This customer's collections, all pages."""
        return list(self._pages("/collections", "collections"))

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        """Face and user counts, face model version, creation time."""
        result: dict[str, Any] = self.request("GET", f"/collections/{quote(collection_id)}")
        return result

    def delete_collection(self, collection_id: str) -> dict[str, Any]:
        """Delete a collection with its faces, users, images, statuses and uploaded photos. A very large
        collection's photos take more than one call: the call is repeated while the service says some remain."""
        path = f"/collections/{quote(collection_id)}"
        result: dict[str, Any] = self.request("DELETE", path)
        deleted = int(result.get("deleted_photos") or 0)
        while result.get("done") is False:
            try:
                result = self.request("DELETE", path)
            except NotFoundError:  # the previous call deleted the last photos
                break
            deleted += int(result.get("deleted_photos") or 0)
        return {**result, "deleted_photos": deleted, "done": True}

    def _pages(self, path: str, key: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            page = self.request("GET", path, params={"max_results": page_size, "next_token": token})
            yield from page.get(key, [])
            token = page.get("next_token") or ""
            if not token:
                return

    # ------------------------------------------------------------------ uploads and images
    def create_upload(self, collection_id: str, *, content_type: str, content_length: int,
                      external_image_id: str | None = None, image_id: str | None = None) -> dict[str, Any]:
        """A presigned PUT ticket. With `image_id` (see `content_image_id`) the same bytes always get the
        same image, so the request is safe to repeat; without it each call makes a new image."""
        body: dict[str, Any] = {"content_type": content_type, "content_length": content_length}
        if external_image_id:
            body["external_image_id"] = external_image_id
        if image_id:
            body["image_id"] = image_id
        result: dict[str, Any] = self.request("POST", f"/collections/{quote(collection_id)}/uploads", body=body,
                                              safe=image_id is not None)
        return result

    def put_upload(self, ticket: Mapping[str, Any], data: bytes) -> None:
        """PUT the bytes to the presigned URL with exactly the signed headers (retried: same URL, same bytes)."""
        answer = self.transport.send(str(ticket.get("method", "PUT")), str(ticket["url"]), body=data,
                                     headers=dict(ticket.get("headers") or {}), safe=True)
        if answer.status >= 300:
            text = answer.data.decode("utf-8", "replace")
            s3_code = _xml_text(text, "Code") or f"HTTP {answer.status}"
            raise UploadFailedError(answer.status, "UPLOAD_FAILED",
                                    f"storage refused the upload: {s3_code}: {_xml_text(text, 'Message')}".rstrip(": "),
                                    retry_after=answer.retry_after())

    def image_status(self, collection_id: str, image_id: str) -> dict[str, Any]:
        """An uploaded image's status: PENDING, INDEXED (face ids), NO_FACES, INVALID_IMAGE, REJECTED_*."""
        result: dict[str, Any] = self.request(
            "GET", f"/collections/{quote(collection_id)}/images/{quote(image_id)}")
        return result

    def upload_file(self, collection_id: str, path: Path, external_image_id: str | None = None, *,
                    skip_existing: bool = False) -> UploadResult:
        """Upload one file under its content name; never raises for the file or the service: a refusal
        (REFUSED) or failure (UPLOAD_FAILED) is recorded in the result, with the exception in `.error`.
        With `skip_existing`, an image the collection already has is not uploaded again."""
        result = UploadResult(path=str(path), external_image_id=external_image_id)
        content_type = IMAGE_TYPES.get(path.suffix.lower())
        try:
            if content_type is None:
                raise InvalidRequestError(0, "UNSUPPORTED_TYPE", f"{path.suffix or 'no extension'}: only JPEG and PNG")
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidRequestError(0, "FILE_NOT_READABLE", f"{path}: {exc.strerror or exc}") from None
            result.image_id = content_image_id(data, content_type)
            if skip_existing and self._already_there(collection_id, result):
                return result
            ticket = self.create_upload(collection_id, content_type=content_type, content_length=len(data),
                                        external_image_id=external_image_id, image_id=result.image_id)
            self.put_upload(ticket, data)
        except FacesearchError as exc:
            refused = isinstance(exc, RefusedError)
            result.status = "REFUSED" if refused else "UPLOAD_FAILED"
            result.code, result.message, result.error = exc.code, exc.message, exc
            if refused:
                result.image_id = None  # no image was made
        return result

    def _already_there(self, collection_id: str, result: UploadResult) -> bool:
        try:
            status = self.image_status(collection_id, str(result.image_id))
        except NotFoundError:  # not there (or no such collection: the upload ticket will say so)
            return False
        state = str(status.get("status", ""))
        if state not in SKIPPABLE_STATUSES:
            return False
        result.skipped = True
        _apply_status(result, status)
        return True

    def upload_many(self, collection_id: str, paths: list[Path], *,
                    external_id: Callable[[Path], str | None] = lambda p: p.name, workers: int = 4,
                    skip_existing: bool = False, on_done: Callable[[UploadResult], None] | None = None
                    ) -> list[UploadResult]:
        """Upload files concurrently; results in the order of `paths`, each with its outcome.

        When a file fails for a reason that would fail every file (the service is unavailable, the
        caller is refused, the collection does not exist), no further file is started: those are
        NOT_STARTED, with that error's code. Ctrl-C likewise starts nothing more."""
        results = [UploadResult(path=str(p), external_image_id=external_id(p), status="NOT_STARTED") for p in paths]
        stop = threading.Event()

        def one(i: int) -> UploadResult:
            if stop.is_set():
                return results[i]
            try:
                results[i] = self.upload_file(collection_id, paths[i], results[i].external_image_id,
                                              skip_existing=skip_existing)
            except BaseException:
                stop.set()
                raise
            if results[i].fails_every_file:
                stop.set()
            return results[i]

        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            for future in as_completed([pool.submit(one, i) for i in range(len(paths))]):
                if on_done is not None:
                    on_done(future.result())
        finally:  # on Ctrl-C too: start nothing more, let the uploads in flight end
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        fatal = next((r.error for r in results if r.fails_every_file), None)
        for r in results:
            if r.status == "NOT_STARTED" and fatal is not None:
                r.code, r.message = fatal.code, "not started: " + fatal.message
        return results

    def wait_indexed(self, collection_id: str, results: list[UploadResult], *, timeout: float = 120.0,
                     interval: float = 0.5, on_done: Callable[[UploadResult], None] | None = None) -> bool:
        """Poll the status of each PENDING result until final; False if `timeout` ran out. Results are
        updated in place, so a caller keeps what was learnt even if an error is raised midway."""
        pending = [r for r in results if r.image_id and r.status == "PENDING"]
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            still: list[UploadResult] = []
            for result in pending:
                try:
                    status = self.image_status(collection_id, str(result.image_id))
                except NotFoundError:  # not yet seen by the indexer
                    still.append(result)
                    continue
                if str(status.get("status", "PENDING")) == "PENDING":
                    still.append(result)
                    continue
                _apply_status(result, status)
                if on_done is not None:
                    on_done(result)
            pending = still
            if pending:
                time.sleep(interval)
        return not pending

    def index(self, collection_id: str, paths: Iterable[str | Path], *, wait: bool = False,
              skip_existing: bool = False, timeout: float = 120.0, workers: int = 4,
              external_id: Callable[[Path], str | None] = lambda p: p.name,
              on_uploaded: Callable[[UploadResult], None] | None = None,
              on_waiting: Callable[[int], None] | None = None,
              on_indexed: Callable[[UploadResult], None] | None = None) -> IndexReport:
        """Upload JPEG/PNG files (folders expanded) and, with `wait`, wait for their indexing outcome.

        Never raises for a file or for the service going away midway: the report holds one result per
        file, the summary, and the error that stopped the run. Running it again with `skip_existing`
        resumes: files already in the collection are not uploaded again. The callbacks report progress:
        each file uploaded (or skipped or failed), the number of images to wait for, each image indexed."""
        files = image_files(str(p) for p in paths)
        results = self.upload_many(collection_id, files, external_id=external_id, workers=workers,
                                   skip_existing=skip_existing, on_done=on_uploaded)
        report = IndexReport(results=results)
        report.error = next((r.error for r in results if r.fails_every_file), None)
        if report.error is not None:
            report.complete = False
            return report
        if wait:
            if on_waiting is not None:
                on_waiting(sum(1 for r in results if r.image_id and r.status == "PENDING"))
            try:
                report.complete = self.wait_indexed(collection_id, results, timeout=timeout, on_done=on_indexed)
            except FacesearchError as exc:
                report.error, report.complete = exc, False
        return report

    # ------------------------------------------------------------------ faces and search
    def list_faces(self, collection_id: str) -> list[dict[str, Any]]:
        """Every face of a collection, all pages."""
        return list(self._pages(f"/collections/{quote(collection_id)}/faces", "faces"))

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> dict[str, Any]:
        """Delete up to 4096 faces; per-id reasons for those not deleted."""
        result: dict[str, Any] = self.request("DELETE", f"/collections/{quote(collection_id)}/faces",
                                              body={"face_ids": face_ids})
        return result

    def delete_image_faces(self, collection_id: str, image_id: str) -> dict[str, Any]:
        """Erase every face indexed from one uploaded image (through the API, not an S3 delete)."""
        ids = [f["face_id"] for f in self.list_faces(collection_id) if f.get("image_id") == image_id]
        if not ids:
            return {"deleted_faces": [], "unsuccessful_face_deletions": []}
        return self.delete_faces(collection_id, ids)

    def search(self, collection_id: str, image: bytes, *, threshold: float | None = None,
               max_faces: int | None = None) -> dict[str, Any]:
        """Search with the largest face of `image`: `face_matches` (similarity 0-100, most similar first)."""
        body: dict[str, Any] = {"image": base64.b64encode(image).decode("ascii")}
        if threshold is not None:
            body["threshold"] = float(threshold)
        if max_faces is not None:
            body["max_faces"] = int(max_faces)
        result: dict[str, Any] = self.request("POST", f"/collections/{quote(collection_id)}/search", body=body,
                                              safe=True)
        return result

    def detect(self, image: bytes) -> dict[str, Any]:
        """The faces of an image (boxes, landmarks, quality), largest first; nothing is stored."""
        result: dict[str, Any] = self.request("POST", "/detect", safe=True,
                                              body={"image": base64.b64encode(image).decode("ascii")})
        return result

    def compare(self, source: bytes, target: bytes, *, threshold: float | None = None) -> dict[str, Any]:
        """The largest face of `source` against every face of `target`; nothing is stored."""
        body: dict[str, Any] = {"source_image": base64.b64encode(source).decode("ascii"),
                                "target_image": base64.b64encode(target).decode("ascii")}
        if threshold is not None:
            body["threshold"] = float(threshold)
        result: dict[str, Any] = self.request("POST", "/compare", body=body, safe=True)
        return result


def _apply_status(result: UploadResult, status: Mapping[str, Any]) -> None:
    result.status = str(status.get("status", "PENDING"))
    result.code = status.get("reason_code")
    result.message = status.get("message")
    result.face_ids = list(status.get("face_ids") or [])


def _decode(answer: Answer) -> Any:
    """The JSON of a success, or the error of an error answer."""
    try:
        body: Any = json.loads(answer.data) if answer.data else {}
    except ValueError:
        body = None
    if answer.status >= 400:
        if body is None:
            body = answer.data.decode("utf-8", "replace")
        raise api_error(answer.status, body, reason=answer.reason, retry_after=answer.retry_after())
    if body is None or answer.status >= 300:
        kind = answer.headers.get("content-type", "unknown type")
        raise InvalidResponseError(f"the endpoint answered HTTP {answer.status} with {kind}, not the API's JSON: "
                                   "is FACESEARCH_ENDPOINT / --endpoint the API's base URL?")
    return body


def _xml_text(text: str, tag: str) -> str:
    found = re.search(rf"<{tag}>([^<]{{0,300}})</{tag}>", text)
    return found.group(1) if found else ""


def image_files(paths: Iterable[str]) -> list[Path]:
    """The JPEG/PNG files named, folders expanded (sorted, not recursive into hidden folders)."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_TYPES
                              and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            out.append(path)
    return out
