"""`facesearch smoke`: a short, self-cleaning story against any deployment; any deviation is a failure.

In a temporary collection: upload a known photo through a presigned URL, wait for INDEXED, search
with another photo of the same person and find the face, compare the two photos, delete the face and
confirm it left search, delete the collection and confirm it is gone. With an admin identity, also
register a temporary police department, check that a search is refused (403 SECTOR_DISALLOWED) and
that the refusal is in the audit log; without a customer key, a temporary media customer is made for
the story. Temporary customers are suspended and their keys revoked at the end (the registry keeps
every customer record: the audit log refers to it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facesearch.client import ApiError, Client, UploadResult
from facesearch.errors import FacesearchError

SIMILARITY_FLOOR = 80.0  # the service's default threshold (SFace's published cosine 0.363)


class Deviation(Exception):
    """The service did not do what the story expects."""


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.name, "ok": self.ok, "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass
class SmokeReport:
    endpoint: str
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "ok": self.ok, "steps": [s.to_dict() for s in self.steps],
                "notes": self.notes}


@dataclass
class SmokeOptions:
    photo: Path  # indexed
    query: Path  # another photo of the same person
    timeout: float = 120.0  # for indexing
    admin: bool = True  # try the admin story (police refused) when admin credentials work
    prefix: str = "smoke"


class Smoke:
    """Runs the story step by step; every step is recorded, cleanup always runs."""

    def __init__(self, client: Client, options: SmokeOptions, on_step: Callable[[Step], None] | None = None) -> None:
        self.client = client
        self.options = options
        self.report = SmokeReport(client.endpoint)
        self.on_step = on_step
        self.collection = f"{options.prefix}-{uuid.uuid4().hex[:10]}"
        self._cleanups: list[tuple[str, Callable[[], Any]]] = []
        self._temporary: list[tuple[str, str]] = []  # (customer id, key id) to suspend and revoke

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        record = Step(name, ok=False, seconds=0.0)
        started = time.monotonic()
        try:
            yield record
            record.ok = True
        except (Deviation, FacesearchError, OSError) as exc:
            record.detail = record.detail or _describe(exc)
            raise Deviation(f"{name}: {record.detail}") from exc
        finally:
            record.seconds = time.monotonic() - started
            self.report.steps.append(record)
            if self.on_step is not None:
                self.on_step(record)

    def run(self) -> SmokeReport:
        try:
            customer = self._customer()
            self._story(customer)
            if not self.options.admin:
                self.report.notes.append("admin story skipped (--no-admin)")
            elif self._admin_available():
                self._police()
            else:
                self.report.notes.append("admin story skipped: no admin identity (AWS credentials allowed "
                                         "execute-api:Invoke on /admin/*)")
        except Deviation:
            pass
        finally:
            self._cleanup()
        return self.report

    # ------------------------------------------------------------------ the story
    def _customer(self) -> Client:
        if self.client.api_key:
            return self.client
        with self.step("register a temporary media customer (admin)") as s:
            created = self.client.create_customer(name=f"{self.options.prefix} media", sector="media",
                                                  jurisdiction="DE", status="active")
            customer_id = created["customer"]["customer_id"]
            self._temporary.append((customer_id, created["api_key"]["key_id"]))
            s.detail = customer_id
            return self.client.with_key(created["api_key"]["secret"])

    def _story(self, customer: Client) -> None:
        with self.step("create a temporary collection") as s:
            customer.create_collection(self.collection)
            self._cleanups.append(("delete the collection", lambda: customer.delete_collection(self.collection)))
            s.detail = self.collection
        with self.step("upload a known photo (presigned PUT)") as s:
            upload = customer.upload_file(self.collection, self.options.photo, external_image_id="smoke")
            if upload.status != "PENDING":
                raise Deviation(f"upload {upload.status}: {upload.code} {upload.message}")
            s.detail = str(upload.image_id)
        with self.step("wait for INDEXED") as s:
            face_ids = self._indexed(customer, upload)
            s.detail = f"{len(face_ids)} face(s)"
        with self.step("search it back with another photo") as s:
            found = customer.search(self.collection, self.options.query.read_bytes())
            matches = {m["face"]["face_id"]: m["similarity"] for m in found.get("face_matches", [])}
            hits = {f: matches[f] for f in face_ids if f in matches}
            if not hits or max(hits.values()) < SIMILARITY_FLOOR:
                raise Deviation(f"the indexed face was not found (matches: {matches})")
            s.detail = f"similarity {max(hits.values()):.1f}"
        with self.step("compare the two photos") as s:
            compared = customer.compare(self.options.photo.read_bytes(), self.options.query.read_bytes())
            similarities = [m.get("similarity", 0) for m in compared.get("face_matches", [])]
            if not similarities or max(similarities) < SIMILARITY_FLOOR:
                raise Deviation(f"no match between the two photos: {compared}")
            s.detail = f"similarity {max(similarities):.1f}"
        with self.step("delete the face") as s:
            deleted = customer.delete_faces(self.collection, face_ids)
            if sorted(deleted.get("deleted_faces", [])) != sorted(face_ids):
                raise Deviation(f"deleted {deleted}")
            s.detail = f"{len(face_ids)} deleted"
        with self.step("confirm it left search"):
            found = customer.search(self.collection, self.options.query.read_bytes())
            left = [m["face"]["face_id"] for m in found.get("face_matches", []) if m["face"]["face_id"] in face_ids]
            if left:
                raise Deviation(f"deleted faces still found: {left}")
        with self.step("delete the collection and confirm it is gone"):
            self._cleanups.pop()
            customer.delete_collection(self.collection)
            try:
                customer.describe_collection(self.collection)
            except ApiError as exc:
                if exc.status != 404:
                    raise
            else:
                raise Deviation("the collection still answers after its deletion")

    def _indexed(self, customer: Client, upload: UploadResult) -> list[str]:
        if not customer.wait_indexed(self.collection, [upload], timeout=self.options.timeout):
            raise Deviation(f"still {upload.status} after {self.options.timeout:.0f} s")
        if upload.status != "INDEXED" or not upload.face_ids:
            raise Deviation(f"ended {upload.status} {upload.code or ''} with {len(upload.face_ids)} faces")
        return list(upload.face_ids)

    def _admin_available(self) -> bool:
        try:
            self.client.audit(limit=1)
        except FacesearchError:
            return False
        return True

    def _police(self) -> None:
        with self.step("register a temporary police department (admin)") as s:
            created = self.client.create_customer(name=f"{self.options.prefix} police", sector="law_enforcement",
                                                  jurisdiction="US", status="active")
            police_id = created["customer"]["customer_id"]
            self._temporary.append((police_id, created["api_key"]["key_id"]))
            police = self.client.with_key(created["api_key"]["secret"])
            s.detail = police_id
        with self.step("police search refused: 403 SECTOR_DISALLOWED") as s:
            try:
                police.search(self.collection, self.options.query.read_bytes())
            except ApiError as exc:
                if (exc.status, exc.code) != (403, "SECTOR_DISALLOWED"):
                    raise Deviation(f"refused with {exc.status} {exc.code}, not 403 SECTOR_DISALLOWED") from exc
                s.detail = str(exc.body.get("rule_id")) if isinstance(exc.body, dict) else ""
            else:
                raise Deviation("the police department was SERVED a search")
        with self.step("the refusal is in the audit log (admin)") as s:
            deadline = time.monotonic() + 30
            while True:
                records = self.client.audit(customer_id=police_id, limit=50)
                refused = [r for r in records if r.get("operation") == "search"
                           and r.get("reason_code") == "SECTOR_DISALLOWED"]
                if refused:
                    s.detail = str(refused[0].get("at"))
                    break
                if time.monotonic() > deadline:
                    raise Deviation(f"no audited refusal among {len(records)} records")
                time.sleep(1)

    def _cleanup(self) -> None:
        for name, action in reversed(self._cleanups):
            try:
                with self.step(f"cleanup: {name}"):
                    action()
            except Deviation:
                pass
        self._cleanups = []
        for customer_id, key_id in self._temporary:
            try:
                with self.step(f"cleanup: suspend {customer_id} and revoke its key"):
                    self.client.revoke_key(customer_id, key_id)
                    self.client.update_customer(customer_id, {"status": "suspended"})
            except Deviation:
                pass
        self._temporary = []


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.code}: {exc.message}"
    return str(exc)
