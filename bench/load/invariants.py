"""What must hold after a load run or a fault storm, checked from the journal and what the service shows.

Pure functions (no I/O): `bench.load.run` gathers the observations, `check` returns the violations.

- every uploaded photo has a final status (INDEXED or NO_FACES for the test photos);
- the same photo always yields the same number of faces (nothing lost, nothing indexed twice);
- each collection holds exactly the faces indexed minus the faces deleted, each once, each under the
  image it came from, and its face count says so;
- no 5xx in a plain load run;
- the police customer was never served, its objects put straight into the bucket ended REJECTED_POLICY
  with every version purged, and every refusal any client saw is in the audit table under its request id,
  or, when the table write itself failed, in the gate's structured log line (counted apart: the audit
  table alone then misses it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FINAL = frozenset({"INDEXED", "NO_FACES", "INVALID_IMAGE", "REJECTED_POLICY", "REJECTED_COLLECTION"})


@dataclass
class Observed:
    """The service's state after the run (read with retries by the runner)."""

    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # image_id -> status answer
    faces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # collection key -> faces listed
    face_counts: dict[str, int] = field(default_factory=dict)  # collection key -> describe's face_count
    audited_request_ids: set[str] = field(default_factory=set)
    # refusals whose audit-table write failed: the gate's structured log line is their only record
    log_only_request_ids: set[str] = field(default_factory=set)
    police_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {status, versions}
    police_index_denials: int = 0  # audit records: index_faces refused the police customer
    dlq_depth: int = 0
    redriven: int = 0  # dead letters sent back to the index queue during the drain


@dataclass
class Summary:
    """The figures of a run and what went wrong (an empty `violations` means every invariant held)."""

    uploads: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    faces_indexed: int = 0
    faces_deleted: int = 0
    faces_present: int = 0
    server_errors: int = 0
    refusals: int = 0
    police_refusals: int = 0
    police_served: int = 0
    audited_in_log_only: int = 0
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        final = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) or "none"
        return [
            f"photos uploaded {self.uploads} (final: {final})",
            f"faces indexed {self.faces_indexed}, deleted {self.faces_deleted}, in collections "
            f"{self.faces_present} (expected {self.faces_indexed - self.faces_deleted})",
            f"5xx answers {self.server_errors}; refusals {self.refusals} (police {self.police_refusals}), "
            f"police served {self.police_served}; refusals audited in the log only (audit table write failed) "
            f"{self.audited_in_log_only}",
            "invariants: " + ("all hold" if not self.violations else f"{len(self.violations)} VIOLATED"),
            *(f"  - {v}" for v in self.violations[:30]),
        ]


def collection_key(customer_id: str, collection_id: str) -> str:
    return f"{customer_id}/{collection_id}"


def check(journal: Iterable[Mapping[str, Any]], observed: Observed, *, allow_5xx: bool) -> Summary:
    """Every invariant over a run's journal and the observed end state."""
    entries = list(journal)
    out = Summary()
    uploads = {e["image_id"]: e for e in entries if e["event"] == "uploaded"}
    out.uploads = len(uploads)
    deleted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e["event"] in ("deleted", "delete_unknown"):  # unknown ones were re-deleted by the runner
            deleted[collection_key(e["customer"], e["collection"])].update(e["face_ids"])
    expected: dict[str, dict[str, str]] = defaultdict(dict)  # collection key -> face id -> image id
    faces_per_photo: dict[str, set[int]] = defaultdict(set)
    for image_id, up in uploads.items():
        status = observed.statuses.get(image_id) or {}
        state = str(status.get("status", "MISSING"))
        out.statuses[state] += 1
        if state not in FINAL:
            out.violations.append(f"image {image_id} ({up['photo']}) has no final status: {state}")
            continue
        if state not in ("INDEXED", "NO_FACES"):
            out.violations.append(f"image {image_id} ({up['photo']}) ended {state} {status.get('reason_code')}")
        face_ids = list(status.get("face_ids") or [])
        faces_per_photo[up["photo"]].add(len(face_ids))
        key = collection_key(up["customer"], up["collection"])
        for face_id in face_ids:
            expected[key][face_id] = image_id
        out.faces_indexed += len(face_ids)
    for photo, counts in sorted(faces_per_photo.items()):
        if len(counts) > 1:
            out.violations.append(f"{photo} yielded different face counts across uploads: {sorted(counts)}")
    for key in sorted(set(expected) | set(observed.faces)):
        gone = deleted.get(key, set())
        want = {f: i for f, i in expected.get(key, {}).items() if f not in gone}
        out.faces_deleted += len(set(expected.get(key, {})) & gone)
        listed = observed.faces.get(key, [])
        ids = [str(f.get("face_id")) for f in listed]
        out.faces_present += len(ids)
        duplicates = [f for f, n in Counter(ids).items() if n > 1]
        if duplicates:
            out.violations.append(f"{key}: faces listed twice: {duplicates[:5]}")
        missing = set(want) - set(ids)
        extra = set(ids) - set(want)
        if missing:
            out.violations.append(f"{key}: {len(missing)} indexed faces missing (lost), e.g. {sorted(missing)[:3]}")
        if extra:
            out.violations.append(f"{key}: {len(extra)} faces nobody indexed or that were deleted, "
                                  f"e.g. {sorted(extra)[:3]}")
        wrong_image = [f["face_id"] for f in listed if f.get("face_id") in want
                       and f.get("image_id") not in (None, want[f["face_id"]])]
        if wrong_image:
            out.violations.append(f"{key}: faces under the wrong image: {wrong_image[:3]}")
        count = observed.face_counts.get(key)
        if count is not None and count != len(want):
            out.violations.append(f"{key}: face_count {count} but {len(want)} faces indexed minus deleted")
    out.server_errors = sum(1 for e in entries if e["event"] == "5xx")
    if out.server_errors and not allow_5xx:
        routes = Counter(f"{e['route']} {e['status']}" for e in entries if e["event"] == "5xx")
        out.violations.append(f"{out.server_errors} answers were 5xx: {dict(routes)}")
    unexpected = [e for e in entries if e["event"] in ("unexpected", "upload_failed")]
    if unexpected:
        out.violations.append(f"{len(unexpected)} unexpected answers, e.g. {unexpected[:3]}")
    _check_refusals(entries, observed, out)
    if observed.dlq_depth:
        out.violations.append(f"{observed.dlq_depth} messages left in the dead-letter queue after redrive")
    return out


def _check_refusals(entries: list[Mapping[str, Any]], observed: Observed, out: Summary) -> None:
    refusals = [e for e in entries if e["event"] == "refused"]
    out.refusals = len(refusals)
    police = {e["customer"] for e in entries if e["event"] == "refused" and e["route"].endswith("(police)")}
    out.police_refusals = sum(1 for e in refusals if e["customer"] in police)
    out.police_served = sum(1 for e in entries if e["event"] == "police_served")
    if out.police_served:
        out.violations.append(f"the police customer was served {out.police_served} times")
    in_log = [e for e in refusals if e.get("request_id") not in observed.audited_request_ids
              and e.get("request_id") in observed.log_only_request_ids]
    out.audited_in_log_only = len(in_log)
    unaudited = [e for e in refusals if e.get("request_id") not in observed.audited_request_ids
                 and e.get("request_id") not in observed.log_only_request_ids]
    if unaudited:
        out.violations.append(f"{len(unaudited)} refusals not in the audit log, e.g. "
                              f"{[(e['route'], e['code'], e.get('request_id')) for e in unaudited[:3]]}")
    for key, seen in sorted(observed.police_objects.items()):
        if seen.get("status") != "REJECTED_POLICY":
            out.violations.append(f"police object {key} ended {seen.get('status')}, not REJECTED_POLICY")
        if seen.get("versions"):
            out.violations.append(f"police object {key} still has {seen['versions']} stored versions")
    if observed.police_objects and observed.police_index_denials < len(observed.police_objects):
        out.violations.append(f"{len(observed.police_objects)} police objects but only "
                              f"{observed.police_index_denials} index refusals audited")
