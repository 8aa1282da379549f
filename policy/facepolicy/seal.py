"""Sealed audit digests: the tamper evidence of the audit log (in the spirit of CloudTrail's digest files).

A digest seals one closed period [start, end) of the audit log: the SHA-256 of every record stored in
it (its canonical JSON) with the record's expiry time (TTL), and the previous digest's key, S3 version
id and SHA-256, so the digests form a chain. `AuditSealer` writes them; `AuditVerifier` recomputes
everything from the audit table and the digests and reports what changed after sealing.

Pure code over two ports (`AuditItems`, `DigestStore`): the DynamoDB and S3 adapters live in
`dynamodb.py` and `s3digests.py`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from facepolicy.audit import iso_time

logger = Logger(child=True)  # a library module: logs through the function's service logger, no handler of its own

DIGEST_FORMAT = "facesearch-audit-digest/1"
DIGEST_PREFIX = "digests/"
DEFAULT_PERIOD_SECONDS = 3600
DEFAULT_SETTLE_SECONDS = 300
MAX_PERIODS_PER_SEAL = 168  # a week of hourly digests per run; a longer backlog continues on the next run
GENESIS_PERIODS = 120  # the first seal reaches back to midnight UTC, but at most this many periods

# Finding kinds (stable, part of `verify`'s output)
ALTERED = "RECORD_ALTERED"  # a sealed record's content no longer hashes to its digest entry
DELETED = "RECORD_DELETED_BEFORE_EXPIRY"  # a sealed record is gone before the expiry its digest recorded
ADDED = "RECORD_ADDED_AFTER_SEALING"  # a record of a sealed period that its digest does not list
CHAIN_BREAK = "CHAIN_BREAK"  # a digest does not name its predecessor as stored, or periods do not join
DIGEST_TAMPERED = "DIGEST_TAMPERED"  # a digest rewritten (a second version), deleted, or unreadable
LOCK_TOO_SHORT = "DIGEST_LOCK_TOO_SHORT"  # a digest's Object Lock ends before its records expire
ANCHOR_MISMATCH = "ANCHOR_MISMATCH"  # the digest an auditor anchored on earlier is gone or changed
FINDING_KINDS = (ALTERED, DELETED, ADDED, CHAIN_BREAK, DIGEST_TAMPERED, LOCK_TOO_SHORT, ANCHOR_MISMATCH)


class DigestError(Exception):
    """A digest object that does not parse as a digest."""


class DigestConflict(Exception):
    """Another seal wrote the same digest first (concurrent seals): this run stops, nothing is lost."""


class DigestUnavailable(Exception):
    """The digest bucket could not be read or written."""


# ------------------------------------------------------------------ canonical form and hashes
def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def canonical_item(item: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash is taken over: every stored attribute, as sorted compact JSON (UTF-8)."""
    return json.dumps(_plain(item), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(item: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_item(item))


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (Z or offset; a bare date is midnight UTC) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def digest_key(start: str) -> str:
    """Digests sort by key in period order: digests/{start}.json."""
    return f"{DIGEST_PREFIX}{start}.json"


# ------------------------------------------------------------------ value types
@dataclass(frozen=True)
class SealedRecord:
    """One record as its digest saw it."""

    pk: str
    sk: str
    sha256: str
    expires_at: int  # epoch seconds (the table's TTL); 0 when the record has none

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, self.sk


@dataclass(frozen=True)
class DigestRef:
    """Where a digest is stored and what its bytes hash to."""

    key: str
    version_id: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "version_id": self.version_id, "sha256": self.sha256}


@dataclass(frozen=True)
class Digest:
    """The seal of one period [start, end) (ISO 8601 UTC with milliseconds, as audit records' `at`)."""

    start: str
    end: str
    sealed_at: str
    records: tuple[SealedRecord, ...]
    previous: DigestRef | None

    def to_bytes(self) -> bytes:
        document = {
            "format": DIGEST_FORMAT,
            "hash_algorithm": "SHA-256",
            "record_canonical_form": "JSON of every stored attribute, keys sorted, no spaces, UTF-8; "
                                     "numbers as integers",
            "period": {"start": self.start, "end": self.end},
            "sealed_at": self.sealed_at,
            "record_count": len(self.records),
            "records": [{"pk": r.pk, "sk": r.sk, "sha256": r.sha256, "expires_at": r.expires_at}
                        for r in self.records],
            "previous": self.previous.as_dict() if self.previous else None,
        }
        return json.dumps(document, indent=1, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Digest:
        try:
            doc = json.loads(data)
            if doc.get("format") != DIGEST_FORMAT:
                raise DigestError(f"not a {DIGEST_FORMAT} document")
            previous = doc.get("previous")
            return cls(
                start=str(doc["period"]["start"]), end=str(doc["period"]["end"]), sealed_at=str(doc["sealed_at"]),
                records=tuple(SealedRecord(str(r["pk"]), str(r["sk"]), str(r["sha256"]), int(r["expires_at"]))
                              for r in doc["records"]),
                previous=DigestRef(str(previous["key"]), str(previous["version_id"]), str(previous["sha256"]))
                if previous else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DigestError(f"malformed digest: {exc}") from exc


@dataclass(frozen=True)
class StoredDigest:
    ref: DigestRef
    digest: Digest


@dataclass(frozen=True)
class DigestVersion:
    """One entry of the digest bucket's version listing."""

    key: str
    version_id: str
    is_delete_marker: bool = False
    last_modified: str = ""


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    digest_key: str = ""
    pk: str = ""
    sk: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "digest_key": self.digest_key, "pk": self.pk,
                "sk": self.sk}


# ------------------------------------------------------------------ ports
class AuditItems(Protocol):
    def items_between(self, start: str, end: str) -> Iterable[Mapping[str, Any]]:
        """Every stored audit item with start <= at < end, as stored (all attributes), via the time index."""
        ...


class DigestStore(Protocol):
    def head(self) -> StoredDigest | None:
        """The digest of the latest period (its current version), or None before the first seal."""
        ...

    def put_new(self, key: str, data: bytes) -> str:
        """Write a digest that must not exist yet; returns its version id. Raises DigestConflict."""
        ...

    def versions(self, start_after: str = "") -> list[DigestVersion]:
        """Every version and delete marker under the digest prefix with key > start_after, oldest first per key."""
        ...

    def get(self, key: str, version_id: str) -> bytes | None:
        """One version's bytes, or None if that version does not exist."""
        ...

    def lock(self, key: str, version_id: str) -> tuple[str, str]:
        """(Object Lock mode, retain-until ISO time) of a version; ("", "") when it has none."""
        ...


# ------------------------------------------------------------------ periods
def periods(start: datetime, cutoff: datetime, period_seconds: int, limit: int) -> list[tuple[datetime, datetime]]:
    """[start, cutoff) cut at the period grid (multiples of period_seconds since the epoch), at most `limit`."""
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < cutoff and len(out) < limit:
        boundary = (int(cursor.timestamp()) // period_seconds + 1) * period_seconds
        end = min(datetime.fromtimestamp(boundary, tz=UTC), cutoff)
        out.append((cursor, end))
        cursor = end
    return out


def _ms(moment: datetime) -> str:
    return iso_time(moment.timestamp())


def by_day(spans: Sequence[tuple[str, str]]) -> list[list[int]]:
    """Indexes of consecutive [start, end) spans grouped by the UTC day they start on (one index read per day)."""
    groups: list[list[int]] = []
    for index, (start, _) in enumerate(spans):
        if groups and spans[groups[-1][0]][0][:10] == start[:10]:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def bucket_items(items: Iterable[Mapping[str, Any]], spans: Sequence[tuple[str, str]]
                 ) -> list[list[Mapping[str, Any]]]:
    """Items put into the sorted, non-overlapping [start, end) span their `at` falls in (others dropped)."""
    starts = [start for start, _ in spans]
    buckets: list[list[Mapping[str, Any]]] = [[] for _ in spans]
    for item in items:
        at = str(item.get("at", ""))
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and at < spans[index][1]:
            buckets[index].append(item)
    return buckets


def seal_records(items: Iterable[Mapping[str, Any]]) -> tuple[SealedRecord, ...]:
    records = [SealedRecord(str(i["pk"]), str(i["sk"]), record_hash(i), int(_plain(i.get("expires_at", 0)) or 0))
               for i in items]
    return tuple(sorted(records, key=lambda r: (r.sk, r.pk)))


# ------------------------------------------------------------------ sealing
@dataclass(frozen=True)
class SealResult:
    sealed: tuple[dict[str, Any], ...]  # per digest written: period, key, version_id, sha256, record_count
    sealed_through: str  # the end of the last sealed period ("" before the first seal)
    cutoff: str  # the end of the last period closed for `settle_seconds`: nothing at or after it was sealed
    complete: bool  # False when the backlog exceeded one run (the next run continues)

    def as_dict(self) -> dict[str, Any]:
        return {"sealed": list(self.sealed), "sealed_through": self.sealed_through, "cutoff": self.cutoff,
                "complete": self.complete}


class AuditSealer:
    """Seals every closed period since the last digest, one digest per period, chained."""

    def __init__(self, items: AuditItems, store: DigestStore, *, period_seconds: int = DEFAULT_PERIOD_SECONDS,
                 settle_seconds: int = DEFAULT_SETTLE_SECONDS, clock: Callable[[], float] = time.time,
                 max_periods: int = MAX_PERIODS_PER_SEAL) -> None:
        if period_seconds <= 0 or 86400 % period_seconds:
            raise ValueError("the seal period must divide a day (e.g. 3600)")
        self.items = items
        self.store = store
        self.period_seconds = period_seconds
        self.settle_seconds = max(0, settle_seconds)
        self.clock = clock
        self.max_periods = max_periods

    def seal(self) -> SealResult:
        """Seal every whole period that closed at least `settle_seconds` ago and has no digest yet.

        The first seal (no digest yet) starts at midnight UTC of the day of the last closed period, or
        GENESIS_PERIODS periods back if that is later; earlier records are outside the chain.
        """
        settled = int(self.clock() - self.settle_seconds)
        cutoff = datetime.fromtimestamp(settled - settled % self.period_seconds, tz=UTC)
        head = self.store.head()
        if head is not None:
            start, previous = parse_time(head.digest.end), head.ref
        else:
            first = datetime.fromtimestamp(cutoff.timestamp() - self.period_seconds, tz=UTC)
            midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
            start = max(midnight, datetime.fromtimestamp(
                cutoff.timestamp() - GENESIS_PERIODS * self.period_seconds, tz=UTC))
            previous = None
        todo = periods(start, cutoff, self.period_seconds, self.max_periods)
        spans = [(_ms(begin), _ms(end)) for begin, end in todo]
        written: list[dict[str, Any]] = []
        for group in by_day(spans):
            day_spans = [spans[i] for i in group]
            buckets = bucket_items(self.items.items_between(day_spans[0][0], day_spans[-1][1]), day_spans)
            for (begin_at, end_at), items in zip(day_spans, buckets, strict=True):
                previous = self._write(Digest(begin_at, end_at, iso_time(self.clock()), seal_records(items),
                                              previous), written)
        through = written[-1]["end"] if written else (head.digest.end if head else "")
        complete = not todo or todo[-1][1] >= cutoff
        return SealResult(tuple(written), through, _ms(cutoff), complete)

    def _write(self, digest: Digest, written: list[dict[str, Any]]) -> DigestRef:
        """Store one digest (never overwriting one); its reference becomes the next one's predecessor."""
        data = digest.to_bytes()
        key = digest_key(digest.start)
        version_id = self.store.put_new(key, data)
        ref = DigestRef(key, version_id, sha256_hex(data))
        written.append({"start": digest.start, "end": digest.end, **ref.as_dict(), "record_count": len(digest.records)})
        logger.info("audit period sealed", start=digest.start, end=digest.end, key=key, version_id=version_id,
                    record_count=len(digest.records))
        return ref


# ------------------------------------------------------------------ verification
@dataclass
class VerifyReport:
    since: str
    checked_at: str
    digests_checked: int = 0
    records_sealed: int = 0  # digest entries checked
    records_intact: int = 0
    records_expired: int = 0  # gone after the expiry their digest recorded: TTL, not a finding
    records_unsealed: int = 0  # written after the last sealed period: counted, not judged
    sealed_from: str = ""
    sealed_through: str = ""
    head: DigestRef | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        counts = {kind: sum(1 for f in self.findings if f.kind == kind) for kind in FINDING_KINDS}
        return {
            "ok": self.ok, "since": self.since, "checked_at": self.checked_at,
            "digests_checked": self.digests_checked, "sealed_from": self.sealed_from,
            "sealed_through": self.sealed_through, "records_sealed": self.records_sealed,
            "records_intact": self.records_intact, "records_expired": self.records_expired,
            "records_unsealed": self.records_unsealed, "head": self.head.as_dict() if self.head else None,
            "finding_counts": {k: v for k, v in counts.items() if v},
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class _Checked:
    intact: int = 0
    expired: int = 0
    findings: list[Finding] = field(default_factory=list)


class AuditVerifier:
    """Recomputes the audit log's hashes and the digest chain; reports every difference as a Finding."""

    def __init__(self, items: AuditItems, store: DigestStore, *, clock: Callable[[], float] = time.time,
                 period_seconds: int = DEFAULT_PERIOD_SECONDS, workers: int = 8) -> None:
        self.items = items
        self.store = store
        self.clock = clock
        self.period_seconds = period_seconds
        self.workers = workers

    def verify(self, since: str = "", anchor: DigestRef | None = None) -> VerifyReport:
        """Check every digest whose period ends after `since` (all when empty), then count unsealed records."""
        now = self.clock()
        report = VerifyReport(since=since, checked_at=iso_time(now))
        start_after = ""
        if since:
            lower = parse_time(since).timestamp() - 86400  # a digest never spans more than a day
            start_after = digest_key(iso_time(lower))
        chosen, findings = self._chosen_versions(self.store.versions(start_after))
        report.findings.extend(findings)
        loaded: list[tuple[DigestRef, Digest]] = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            contents = list(pool.map(lambda pair: self.store.get(*pair), chosen))
        for (key, version_id), data in zip(chosen, contents, strict=True):
            if data is None:
                report.findings.append(Finding(DIGEST_TAMPERED, "digest version vanished while reading", key))
                continue
            try:
                digest = Digest.from_bytes(data)
            except DigestError as exc:
                report.findings.append(Finding(DIGEST_TAMPERED, str(exc), key))
                continue
            if since and digest.end <= iso_time(parse_time(since).timestamp()):
                continue
            loaded.append((DigestRef(key, version_id, sha256_hex(data)), digest))
        report.findings.extend(self._chain(loaded))
        if anchor is not None:
            report.findings.extend(self._anchor(anchor))
        spans = [(digest.start, digest.end) for _, digest in loaded]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            days = list(pool.map(lambda group: self._check_day(group, loaded, spans, now), by_day(spans)))
        for checked in days:
            report.records_intact += checked.intact
            report.records_expired += checked.expired
            report.findings.extend(checked.findings)
        report.records_sealed = sum(len(digest.records) for _, digest in loaded)
        report.digests_checked = len(loaded)
        if loaded:
            report.head = loaded[-1][0]
            report.sealed_from, report.sealed_through = loaded[0][1].start, loaded[-1][1].end
        unsealed_from = report.sealed_through or since or iso_time(now - now % 86400)
        report.records_unsealed = sum(1 for _ in self.items.items_between(unsealed_from, iso_time(now + 1)))
        logger.info("audit verified", ok=report.ok, digests=report.digests_checked, findings=len(report.findings),
                    records_sealed=report.records_sealed, records_unsealed=report.records_unsealed)
        return report

    @staticmethod
    def _chosen_versions(versions: Sequence[DigestVersion]) -> tuple[list[tuple[str, str]], list[Finding]]:
        """The original (oldest) version of each digest key; rewrites and delete markers are findings."""
        by_key: dict[str, list[DigestVersion]] = {}
        for version in versions:
            by_key.setdefault(version.key, []).append(version)
        chosen: list[tuple[str, str]] = []
        findings: list[Finding] = []
        for key in sorted(by_key):
            entries = by_key[key]
            objects = [v for v in entries if not v.is_delete_marker]
            if any(v.is_delete_marker for v in entries):
                findings.append(Finding(DIGEST_TAMPERED, "digest deleted (a delete marker hides it)", key))
            if len(objects) > 1:
                findings.append(Finding(DIGEST_TAMPERED, f"digest rewritten: {len(objects)} versions", key))
            if objects:
                chosen.append((key, objects[0].version_id))
        return chosen, findings

    def _chain(self, loaded: Sequence[tuple[DigestRef, Digest]]) -> list[Finding]:
        findings: list[Finding] = []
        for index, (ref, digest) in enumerate(loaded):
            if index == 0:
                if digest.previous is not None:  # the predecessor before the range: check it if it is still kept
                    data = self.store.get(digest.previous.key, digest.previous.version_id)
                    if data is not None and sha256_hex(data) != digest.previous.sha256:
                        findings.append(Finding(CHAIN_BREAK, "the predecessor named no longer hashes to the "
                                                             "recorded value", ref.key))
                continue
            previous_ref, previous = loaded[index - 1]
            if digest.previous != previous_ref:
                findings.append(Finding(CHAIN_BREAK, f"names {digest.previous.as_dict() if digest.previous else None}"
                                                     f" as predecessor, stored: {previous_ref.as_dict()}", ref.key))
            if digest.start != previous.end:
                findings.append(Finding(CHAIN_BREAK, f"period starts at {digest.start}, the previous one ends at "
                                                     f"{previous.end}", ref.key))
        return findings

    def _anchor(self, anchor: DigestRef) -> list[Finding]:
        data = self.store.get(anchor.key, anchor.version_id)
        if data is None:
            return [Finding(ANCHOR_MISMATCH, "the anchored digest version no longer exists", anchor.key)]
        if sha256_hex(data) != anchor.sha256:
            return [Finding(ANCHOR_MISMATCH, "the anchored digest no longer hashes to the anchored value", anchor.key)]
        return []

    def _check_day(self, group: Sequence[int], loaded: Sequence[tuple[DigestRef, Digest]],
                   spans: Sequence[tuple[str, str]], now: float) -> _Checked:
        """One read of the time index for the digests of one day, then each digest against its records."""
        day_spans = [spans[i] for i in group]
        buckets = bucket_items(self.items.items_between(day_spans[0][0], day_spans[-1][1]), day_spans)
        checked = _Checked()
        for index, items in zip(group, buckets, strict=True):
            ref, digest = loaded[index]
            self._check_digest(ref, digest, items, now, checked)
        return checked

    def _check_digest(self, ref: DigestRef, digest: Digest, items: Iterable[Mapping[str, Any]], now: float,
                      checked: _Checked) -> None:
        stored = {(str(i["pk"]), str(i["sk"])): i for i in items}
        sealed_keys = set()
        for record in digest.records:
            sealed_keys.add(record.key)
            item = stored.get(record.key)
            if item is None:
                if record.expires_at and now >= record.expires_at:
                    checked.expired += 1
                else:
                    checked.findings.append(Finding(
                        DELETED, f"missing, but sealed to expire at {iso_time(record.expires_at)}", ref.key,
                        record.pk, record.sk))
            elif record_hash(item) != record.sha256:
                checked.findings.append(Finding(ALTERED, "content differs from its sealed hash", ref.key,
                                                record.pk, record.sk))
            else:
                checked.intact += 1
        for key in sorted(set(stored) - sealed_keys):
            checked.findings.append(Finding(ADDED, "in a sealed period but not in its digest", ref.key, *key))
        newest_expiry = max((r.expires_at for r in digest.records), default=0)
        mode, until = self.store.lock(ref.key, ref.version_id)
        if not mode:
            checked.findings.append(Finding(LOCK_TOO_SHORT, "digest has no Object Lock retention", ref.key))
        elif newest_expiry and parse_time(until).timestamp() < newest_expiry:
            checked.findings.append(Finding(LOCK_TOO_SHORT, f"locked ({mode}) until {until}, before its last "
                                                            f"record expires ({iso_time(newest_expiry)})", ref.key))


def resolve_since(text: str, now: float) -> str:
    """A start time from `30d`, `12h`, `90m` (before now) or an ISO 8601 date/time; ISO UTC with ms.

    Raises ValueError with a message fit for a 400 on anything else.
    """
    value = text.strip()
    units = {"d": 86400, "h": 3600, "m": 60}
    if value[-1:] in units and value[:-1].isdigit():
        amount = int(value[:-1])
        if amount > 100 * 365:
            raise ValueError(f"since {text!r} is too far back")
        return iso_time(now - amount * units[value[-1]])
    try:
        return iso_time(parse_time(value).timestamp())
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"since {text!r} is neither a duration (30d, 12h, 90m) nor an ISO 8601 time") from exc


def parse_anchor(text: str) -> DigestRef | None:
    """KEY@VERSION_ID#SHA256, as `verify` prints its head; None for ""; ValueError otherwise."""
    if not text:
        return None
    key, _, rest = text.partition("@")
    version_id, _, sha256 = rest.partition("#")
    if not (key.startswith(DIGEST_PREFIX) and version_id and len(sha256) == 64):
        raise ValueError("anchor must be KEY@VERSION_ID#SHA256 (the head a previous verify printed)")
    return DigestRef(key, version_id, sha256)
