"""The load/storm invariants: a healthy run passes, and each way of losing or duplicating work is caught."""

from __future__ import annotations

from typing import Any

import pytest

from bench.load.invariants import Observed, check

CUSTOMER, COLLECTION, KEY = "c1", "load", "c1/load"


def uploaded(image_id: str, photo: str = "t1.jpg") -> dict[str, Any]:
    return {"event": "uploaded", "customer": CUSTOMER, "collection": COLLECTION, "image_id": image_id, "photo": photo}


def healthy() -> tuple[list[dict[str, Any]], Observed]:
    journal = [uploaded("i1"), uploaded("i2"), uploaded("i3", "mask.jpg"),
               {"event": "deleted", "customer": CUSTOMER, "collection": COLLECTION, "image_id": "i2",
                "face_ids": ["f3", "f4"]},
               {"event": "refused", "customer": "police", "route": "POST /compare (police)", "status": 403,
                "code": "SECTOR_DISALLOWED", "request_id": "r1"}]
    observed = Observed(
        statuses={"i1": {"status": "INDEXED", "face_ids": ["f1", "f2"]},
                  "i2": {"status": "INDEXED", "face_ids": ["f3", "f4"]}, "i3": {"status": "NO_FACES"}},
        faces={KEY: [{"face_id": "f1", "image_id": "i1"}, {"face_id": "f2", "image_id": "i1"}]},
        face_counts={KEY: 2}, audited_request_ids={"r1"},
        police_objects={"uploads/police/x/p1.jpg": {"status": "REJECTED_POLICY", "versions": 0}},
        police_index_denials=1)
    return journal, observed


def test_a_healthy_run_holds_every_invariant() -> None:
    journal, observed = healthy()
    summary = check(journal, observed, allow_5xx=False)
    assert summary.violations == []
    assert (summary.uploads, summary.faces_indexed, summary.faces_deleted, summary.faces_present) == (3, 4, 2, 2)
    assert summary.police_refusals == 1 and summary.police_served == 0


@pytest.mark.parametrize(("breakage", "expected"), [
    (lambda j, o: o.statuses.update(i1={"status": "PENDING"}), "no final status"),
    (lambda j, o: o.faces[KEY].pop(), "missing (lost)"),
    (lambda j, o: o.faces[KEY].append({"face_id": "f1", "image_id": "i1"}), "listed twice"),
    (lambda j, o: o.faces[KEY].append({"face_id": "f9", "image_id": "i1"}), "nobody indexed"),
    (lambda j, o: o.faces[KEY].append({"face_id": "f3", "image_id": "i2"}), "were deleted"),
    (lambda j, o: o.face_counts.update({KEY: 3}), "face_count 3"),
    (lambda j, o: o.statuses.update(i2={"status": "INDEXED", "face_ids": ["f3"]}), "different face counts"),
    (lambda j, o: j.append({"event": "5xx", "route": "GET /x", "status": 500}), "5xx"),
    (lambda j, o: j.append({"event": "police_served", "route": "POST /compare (police)"}), "was served"),
    (lambda j, o: o.audited_request_ids.clear(), "not in the audit log"),
    (lambda j, o: o.police_objects.update({"k": {"status": "INDEXED", "versions": 1}}), "not REJECTED_POLICY"),
    (lambda j, o: o.police_objects.update({"k": {"status": "REJECTED_POLICY", "versions": 2}}), "stored versions"),
    (lambda j, o: setattr(o, "dlq_depth", 1), "dead-letter"),
])
def test_each_breakage_is_reported(breakage: Any, expected: str) -> None:
    journal, observed = healthy()
    breakage(journal, observed)
    violations = check(journal, observed, allow_5xx=False).violations
    assert any(expected in v for v in violations), violations


def test_a_storm_may_answer_5xx_but_not_lose_work() -> None:
    journal, observed = healthy()
    journal.append({"event": "5xx", "route": "GET /x", "status": 503})
    assert check(journal, observed, allow_5xx=True).violations == []


def test_a_refusal_whose_table_write_failed_is_audited_by_its_log_line_and_counted() -> None:
    journal, observed = healthy()
    observed.audited_request_ids.clear()
    observed.log_only_request_ids = {"r1"}
    summary = check(journal, observed, allow_5xx=False)
    assert summary.violations == [] and summary.audited_in_log_only == 1
