"""A small HTTP client for a facesearch deployment (local stack or AWS).

Customer calls carry the `x-api-key` header; admin calls (`/admin/...`, IAM-authorized) are signed
with SigV4 for the `execute-api` service, using the local stack's admin key from its state file, or
else the default AWS credential chain. Errors raise `ApiError` with the service's `{code, message}`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

log = logging.getLogger(__name__)

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
FINAL_STATUSES = ("INDEXED", "NO_FACES", "INVALID_IMAGE")  # and every REJECTED_*


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


class ApiError(Exception):
    """An error answer of the service (or of the gateway in front of it)."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if isinstance(self.body, dict) and self.body.get("rule_id"):
            out["rule_id"] = self.body["rule_id"]
        return out


class ConfigError(Exception):
    """The client is missing its endpoint, key or credentials."""


_GATEWAY_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "THROTTLED",
                  500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "TIMEOUT"}


def _error_of(response: requests.Response) -> ApiError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and "code" in body:
        return ApiError(response.status_code, str(body["code"]), str(body.get("message", "")), body)
    message = body.get("message") if isinstance(body, dict) else str(body)[:200]
    return ApiError(response.status_code, _GATEWAY_CODES.get(response.status_code, f"HTTP_{response.status_code}"),
                    str(message or response.reason), body)


def _region_of(endpoint: str) -> str | None:
    found = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", endpoint)
    return found.group(1) if found else None


@dataclass
class UploadResult:
    """One file of an `index` run."""

    path: str
    image_id: str | None = None
    external_image_id: str | None = None
    status: str = "PENDING"  # PENDING, then the indexer's outcome, or UPLOAD_FAILED / REFUSED
    code: str | None = None
    message: str | None = None
    face_ids: list[str] = field(default_factory=list)


class Client:
    """The facesearch HTTP API."""

    def __init__(self, endpoint: str, *, api_key: str | None = None, region: str | None = None,
                 admin_credentials: Credentials | None = None, timeout: float = 60.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_key = api_key
        self.region = region or _region_of(endpoint) or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._admin_credentials = admin_credentials
        self.timeout = timeout
        self.session = requests.Session()

    @classmethod
    def from_settings(cls, endpoint: str | None = None, api_key: str | None = None,
                      state_file: Path | None = None) -> Client:
        """Endpoint/key from the arguments, else FACESEARCH_ENDPOINT/FACESEARCH_API_KEY, else the local state."""
        state = read_state(state_file)
        endpoint = endpoint or os.environ.get("FACESEARCH_ENDPOINT") or state.get("endpoint")
        if not endpoint:
            raise ConfigError("no endpoint: start `facesearch local serve`, or set FACESEARCH_ENDPOINT / --endpoint")
        api_key = api_key or os.environ.get("FACESEARCH_API_KEY")
        credentials = None
        region = None
        if state and state.get("endpoint") == endpoint.rstrip("/"):
            credentials = Credentials(state["admin_access_key_id"], state["admin_secret_access_key"])
            region = state.get("region")
        return cls(endpoint, api_key=api_key, region=region, admin_credentials=credentials)

    def with_key(self, api_key: str) -> Client:
        """The same endpoint and admin credentials, another customer's key."""
        return Client(self.endpoint, api_key=api_key, region=self.region,
                      admin_credentials=self._admin_credentials, timeout=self.timeout)

    # ------------------------------------------------------------------ transport
    def _admin_creds(self) -> Credentials:
        if self._admin_credentials is None:
            import boto3

            creds = boto3.Session().get_credentials()
            if creds is None:
                raise ConfigError("admin commands need AWS credentials (or a running local stack)")
            self._admin_credentials = creds
        return self._admin_credentials

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                admin: bool = False) -> Any:
        """Send one request; the decoded JSON answer, or ApiError."""
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        url = self.endpoint + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if admin:
            signed = AWSRequest(method=method, url=url, data=data, headers=headers)
            SigV4Auth(self._admin_creds(), "execute-api", self.region).add_auth(signed)
            headers = dict(signed.headers.items())
        else:
            if not self.api_key:
                raise ConfigError("no API key: set FACESEARCH_API_KEY or --api-key")
            headers["x-api-key"] = self.api_key
        response = self.session.request(method, url, data=data or None, headers=headers, timeout=self.timeout)
        if response.status_code >= 400:
            raise _error_of(response)
        if not response.content:
            return {}
        return response.json()

    # ------------------------------------------------------------------ admin
    def create_customer(self, *, name: str, sector: str, jurisdiction: str | None = None,
                        end_user_sectors: Iterable[str] = (), use_cases: Iterable[str] = (), status: str | None = None,
                        customer_id: str | None = None) -> dict[str, Any]:
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
        result: dict[str, Any] = self.request("GET", f"/admin/customers/{quote(customer_id)}", admin=True)
        return result

    def update_customer(self, customer_id: str, changes: Mapping[str, Any], version: int | None = None
                        ) -> dict[str, Any]:
        """PATCH with optimistic locking; reads the current version when none is given."""
        if version is None:
            version = int(self.get_customer(customer_id)["customer"]["version"])
        result: dict[str, Any] = self.request("PATCH", f"/admin/customers/{quote(customer_id)}",
                                              body={"version": version, **changes}, admin=True)
        return result

    def list_customers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.request("GET", "/admin/customers", params={"limit": 100, "cursor": cursor}, admin=True)
            out.extend(page.get("customers", []))
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return out

    def create_key(self, customer_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", f"/admin/customers/{quote(customer_id)}/keys", admin=True)
        return result

    def revoke_key(self, customer_id: str, key_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "DELETE", f"/admin/customers/{quote(customer_id)}/keys/{quote(key_id)}", admin=True)
        return result

    def audit(self, *, customer_id: str = "", since: str = "", until: str = "", limit: int = 50
              ) -> list[dict[str, Any]]:
        page = self.request("GET", "/admin/audit", admin=True, params={
            "customer_id": customer_id, "since": since, "until": until, "limit": limit})
        records: list[dict[str, Any]] = page.get("records", [])
        return records

    # ------------------------------------------------------------------ collections
    def create_collection(self, collection_id: str, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"collection_id": collection_id}
        if defaults:
            body["defaults"] = dict(defaults)
        result: dict[str, Any] = self.request("POST", "/collections", body=body)
        return result

    def list_collections(self) -> list[dict[str, Any]]:
        return list(self._pages("/collections", "collections"))

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/collections/{quote(collection_id)}")
        return result

    def delete_collection(self, collection_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("DELETE", f"/collections/{quote(collection_id)}")
        return result

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
                      external_image_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"content_type": content_type, "content_length": content_length}
        if external_image_id:
            body["external_image_id"] = external_image_id
        result: dict[str, Any] = self.request("POST", f"/collections/{quote(collection_id)}/uploads", body=body)
        return result

    def put_upload(self, ticket: Mapping[str, Any], data: bytes) -> None:
        """PUT the bytes to the presigned URL with exactly the signed headers."""
        response = requests.request(ticket.get("method", "PUT"), ticket["url"], data=data,
                                    headers=dict(ticket.get("headers") or {}), timeout=self.timeout)
        if response.status_code >= 300:
            raise ApiError(response.status_code, "UPLOAD_FAILED", response.text[:300])

    def image_status(self, collection_id: str, image_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"/collections/{quote(collection_id)}/images/{quote(image_id)}")
        return result

    def upload_file(self, collection_id: str, path: Path, external_image_id: str | None = None) -> UploadResult:
        """Ask for a presigned URL and PUT one file; refusals and errors are recorded, not raised."""
        result = UploadResult(path=str(path), external_image_id=external_image_id)
        content_type = IMAGE_TYPES.get(path.suffix.lower())
        try:
            data = path.read_bytes()
            if content_type is None:
                raise ApiError(0, "UNSUPPORTED_TYPE", f"{path.suffix or 'no extension'}: only JPEG and PNG")
            ticket = self.create_upload(collection_id, content_type=content_type, content_length=len(data),
                                        external_image_id=external_image_id)
            result.image_id = ticket["image_id"]
            self.put_upload(ticket, data)
        except ApiError as exc:
            result.status = "REFUSED" if exc.status == 403 else "UPLOAD_FAILED"
            result.code, result.message = exc.code, exc.message
        except (OSError, requests.RequestException) as exc:
            result.status, result.code, result.message = "UPLOAD_FAILED", "IO_ERROR", str(exc)
        return result

    def upload_many(self, collection_id: str, paths: list[Path], *, external_id: Callable[[Path], str | None],
                    workers: int = 4, on_done: Callable[[UploadResult], None] | None = None) -> list[UploadResult]:
        """Upload files concurrently; results in the order of `paths`."""
        results: dict[int, UploadResult] = {}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(self.upload_file, collection_id, p, external_id(p)): i for i, p in enumerate(paths)}
            for future in as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                if on_done is not None:
                    on_done(result)
        return [results[i] for i in range(len(paths))]

    def wait_indexed(self, collection_id: str, results: list[UploadResult], *, timeout: float = 120.0,
                     interval: float = 0.5, on_done: Callable[[UploadResult], None] | None = None) -> bool:
        """Poll the image status of each uploaded file until final; False if the timeout ran out."""
        pending = [r for r in results if r.image_id and r.status == "PENDING"]
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            still: list[UploadResult] = []
            for result in pending:
                try:
                    status = self.image_status(collection_id, str(result.image_id))
                except ApiError as exc:
                    if exc.status == 404:  # not yet seen by the indexer
                        still.append(result)
                        continue
                    raise
                state = str(status.get("status", "PENDING"))
                if state == "PENDING":
                    still.append(result)
                    continue
                result.status = state
                result.code = status.get("reason_code")
                result.message = status.get("message")
                result.face_ids = list(status.get("face_ids") or [])
                if on_done is not None:
                    on_done(result)
            pending = still
            if pending:
                time.sleep(interval)
        return not pending

    # ------------------------------------------------------------------ faces and search
    def list_faces(self, collection_id: str) -> list[dict[str, Any]]:
        return list(self._pages(f"/collections/{quote(collection_id)}/faces", "faces"))

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> dict[str, Any]:
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
        body: dict[str, Any] = {"image": base64.b64encode(image).decode("ascii")}
        if threshold is not None:
            body["threshold"] = float(threshold)
        if max_faces is not None:
            body["max_faces"] = int(max_faces)
        result: dict[str, Any] = self.request("POST", f"/collections/{quote(collection_id)}/search", body=body)
        return result

    def detect(self, image: bytes) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/detect",
                                              body={"image": base64.b64encode(image).decode("ascii")})
        return result

    def compare(self, source: bytes, target: bytes, *, threshold: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"source_image": base64.b64encode(source).decode("ascii"),
                                "target_image": base64.b64encode(target).decode("ascii")}
        if threshold is not None:
            body["threshold"] = float(threshold)
        result: dict[str, Any] = self.request("POST", "/compare", body=body)
        return result


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
