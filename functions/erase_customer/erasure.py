"""Offboarding: erase everything a customer stored, leave its registry record as a tombstone, keep the audit.

One `CustomerEraser.erase` call does as much as its time allows and says whether it is done; calling
again resumes (every step is idempotent, and the face store's purge resumes from the cursor kept in the
ledger). The order closes the door first:

1. ledger: the erasure is recorded in the erasure ledger (S3, `erasures/{customer_id}.json` in the index
   bucket), where a restore of the DynamoDB tables from a backup does not undo it;
2. tombstone: every API key revoked, status `terminated` (the policy refuses everything but deleting,
   index_faces refuses and purges any upload still in flight) — both audited by RegistryAdmin;
3. uploads: every version and delete marker under `uploads/{customer_id}/`;
4. face store: collections, faces, users, image statuses, change logs (`FaceStore.purge_customer`,
   which also finds what an interrupted collection delete left behind);
5. vector snapshots under `snapshots/{customer_id}/`;
6. one audit record per call with what it removed; the ledger entry becomes COMPLETE with the totals.

Imports: the policy layer (RegistryAdmin, AuditLog) and the store port, injected; S3 through the
small `ObjectPurger`/`Ledger` ports (adapters in `erasure_s3.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from facepolicy.admin import RegistryAdmin
from facepolicy.audit import AuditLog, iso_time
from facepolicy.errors import CustomerNotFound
from facepolicy.model import AuditRecord, ReasonCode
from facestore.port import FaceStore
from facestore.s3_snapshots import customer_prefix as snapshots_prefix
from facestore.uploads import customer_prefix as uploads_prefix

IN_PROGRESS, COMPLETE = "IN_PROGRESS", "COMPLETE"
SOURCE = "erase_customer"
MARGIN_SECONDS = 3.0  # stop starting new work this close to the deadline
KINDS = ("keys_revoked", "upload_versions", "collections", "faces", "users", "images", "other_items",
         "snapshot_objects")


@dataclass
class ErasureRecord:
    """A ledger entry: who asked when, how far it got, what it removed in all."""

    customer_id: str
    requested_at: str
    requested_by: str
    status: str = IN_PROGRESS
    completed_at: str = ""
    passes: int = 0
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    store_cursor: str = ""
    reapplied_at: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ErasureRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class EraseResult:
    """One call: the ledger entry after it, and what this call removed."""

    record: ErasureRecord
    removed_now: dict[str, int]

    @property
    def done(self) -> bool:
        return self.record.status == COMPLETE


class Ledger(Protocol):
    def get(self, customer_id: str) -> ErasureRecord | None: ...

    def put(self, record: ErasureRecord) -> None: ...

    def list(self) -> list[ErasureRecord]: ...


class ObjectPurger(Protocol):
    def purge(self, bucket: str, prefix: str, *, versions: bool, time_left: Callable[[], float]) -> tuple[int, bool]:
        """Delete objects under `prefix` (every version and delete marker with versions=True) while
        time_left() > the margin; (objects or versions deleted, True when none is left)."""
        ...


class CustomerEraser:
    """The erasure use case; collaborators injected (see app.py's Deps)."""

    def __init__(self, admin: RegistryAdmin, store: FaceStore, objects: ObjectPurger, ledger: Ledger,
                 audit: AuditLog, *, uploads_bucket: str, index_bucket: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.admin = admin
        self.store = store
        self.objects = objects
        self.ledger = ledger
        self.audit = audit
        self.uploads_bucket = uploads_bucket
        self.index_bucket = index_bucket
        self.clock = clock

    def erase(self, customer_id: str, *, principal: str, request_id: str, time_left: Callable[[], float],
              reapply: bool = False) -> EraseResult:
        """Erase (or resume erasing) one customer. Raises CustomerNotFound if neither the registry nor
        the ledger knows it. `reapply`: run again although the ledger says COMPLETE (after a restore)."""
        record = self.ledger.get(customer_id)
        customer = self._customer(customer_id)
        if customer is None and record is None:
            raise CustomerNotFound(f"customer {customer_id} not found")
        now = iso_time(self.clock())
        if record is None:
            record = ErasureRecord(customer_id, requested_at=now, requested_by=principal)
        elif record.status == COMPLETE:
            if not reapply:
                return EraseResult(record, dict.fromkeys(KINDS, 0))
            record.status, record.store_cursor = IN_PROGRESS, ""
            record.reapplied_at.append(now)
        self.ledger.put(record)  # recorded before anything is removed
        removed = dict.fromkeys(KINDS, 0)
        who = {"principal": principal, "request_id": request_id, "source": SOURCE}
        if customer is not None:
            removed["keys_revoked"] = self._tombstone(customer_id, customer.status, customer.version, who)
        done = self._purge(customer_id, record, removed, time_left)
        record.passes += 1
        for kind, count in removed.items():
            record.removed[kind] = record.removed.get(kind, 0) + count
        if done:
            record.status, record.completed_at = COMPLETE, iso_time(self.clock())
        self.ledger.put(record)
        self._audit(record, removed, principal=principal, request_id=request_id)
        return EraseResult(record, removed)

    def list(self) -> list[ErasureRecord]:
        return sorted(self.ledger.list(), key=lambda r: r.requested_at)

    # ------------------------------------------------------------------ steps
    def _customer(self, customer_id: str) -> Any:
        try:
            return self.admin.get_customer(customer_id)
        except CustomerNotFound:
            return None

    def _tombstone(self, customer_id: str, status: str, version: int, who: Mapping[str, str]) -> int:
        revoked = 0
        for key in self.admin.list_keys(customer_id):
            if not key.revoked_at:
                self.admin.revoke_key(customer_id, key.key_id, **who)
                revoked += 1
        if status != "terminated":
            self.admin.update_customer(customer_id, {"status": "terminated"}, version, **who)
        return revoked

    def _purge(self, customer_id: str, record: ErasureRecord, removed: dict[str, int],
               time_left: Callable[[], float]) -> bool:
        def has_time() -> bool:
            return time_left() > MARGIN_SECONDS

        count, uploads_done = self.objects.purge(self.uploads_bucket, uploads_prefix(customer_id), versions=True,
                                                 time_left=time_left)
        removed["upload_versions"] += count
        store_done = False
        while has_time():
            counts, cursor = self.store.purge_customer(customer_id, cursor=record.store_cursor or None)
            for kind, n in counts.items():
                removed["other_items" if kind == "other" else kind] += n
            record.store_cursor = cursor or ""
            if cursor is None:
                store_done = True
                break
        count, snapshots_done = self.objects.purge(self.index_bucket, snapshots_prefix(customer_id),
                                                   versions=False, time_left=time_left)
        removed["snapshot_objects"] += count
        return uploads_done and store_done and snapshots_done

    def _audit(self, record: ErasureRecord, removed: Mapping[str, int], *, principal: str, request_id: str) -> None:
        policy = self.admin.policy
        details = {"action": "erase_customer", "status": record.status, "pass": str(record.passes),
                   **{k: str(v) for k, v in removed.items()}}
        self.audit.record(AuditRecord(
            customer_id=record.customer_id, operation="delete", allowed=True, reason_code=ReasonCode.ALLOWED,
            rule_id=None, request_id=request_id, source=SOURCE, at=iso_time(self.clock()),
            message="erase_customer", principal=principal, details=details,
            policy_version=policy.version, policy_sha256=policy.sha256))
