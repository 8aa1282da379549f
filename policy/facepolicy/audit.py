"""The audit log port: every policy decision and every registry change leaves a record.

The DynamoDB adapters: `dynamodb.py` (reads and writes), `dynamodb_audit.py` (the data path's writer);
`InMemoryAuditLog` is the fake for unit tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from facepolicy.model import AuditRecord, Page


def iso_time(epoch_seconds: float) -> str:
    """ISO 8601 UTC with milliseconds: sorts as text in time order."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class AuditSink(Protocol):
    """The write side, all the gate needs (dynamodb_audit.DynamoDBAuditWriter on the data path)."""

    def record(self, record: AuditRecord) -> None:
        """Store one record; raises AuditUnavailable when it cannot."""
        ...


class AuditLog(AuditSink, Protocol):

    def list_records(self, customer_id: str = "", since: str = "", until: str = "", limit: int = 50,
                     cursor: str = "") -> Page[AuditRecord]:
        """Records newest first, for one customer or all, with `since <= at <= until` (ISO strings)."""
        ...


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, record: AuditRecord) -> None:
        self.records.append(record)

    def list_records(self, customer_id: str = "", since: str = "", until: str = "", limit: int = 50,
                     cursor: str = "") -> Page[AuditRecord]:
        upper = until + "\uffff" if until else "\uffff"
        selected = [r for r in reversed(self.records)
                    if (not customer_id or r.customer_id == customer_id) and since <= r.at <= upper]
        start = int(cursor) if cursor else 0
        more = start + limit < len(selected)
        return Page(tuple(selected[start:start + limit]), str(start + limit) if more else "")
