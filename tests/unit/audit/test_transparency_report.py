"""The transparency report: aggregation (pure) and its CSV and self-contained HTML renderings."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest

from facepolicy.model import AuditRecord
from facepolicy.report import build_report
from facesearch.transparency import render_csv, render_html

SHA_A, SHA_B = "a" * 64, "b" * 64


def _record(at: str, customer: str, sector: str, operation: str, allowed: bool, *, reason: str = "ALLOWED",
            rule: str | None = None, source: str = "test", principal: str = "", details: dict[str, str] | None = None,
            sha: str = SHA_A, version: int = 1) -> AuditRecord:
    return AuditRecord(customer, operation, allowed, reason, rule, "r", source, at, principal=principal,
                       details=details or {}, policy_version=version, policy_sha256=sha, sector=sector)


RECORDS = [
    _record("2026-11-01T10:00:00.000Z", "shop", "retail", "search", True),
    _record("2026-11-01T11:00:00.000Z", "shop", "retail", "search", True),
    _record("2026-11-02T10:00:00.000Z", "pd", "law_enforcement", "search", False, reason="SECTOR_DISALLOWED",
            rule="law-enforcement-identification"),
    _record("2026-11-02T10:05:00.000Z", "pd", "law_enforcement", "index", False, reason="SECTOR_DISALLOWED",
            rule="law-enforcement-identification", source="index_faces"),
    _record("2026-11-02T11:00:00.000Z", "ghost", "", "detect", False, reason="CUSTOMER_UNKNOWN"),
    _record("2026-11-03T09:00:00.000Z", "shop", "retail", "delete", True,
            source="http DELETE /collections/{collection_id}", sha=SHA_B, version=2),
    _record("2026-11-03T09:01:00.000Z", "shop", "retail", "delete", True, source="index_faces", sha=SHA_B, version=2),
    _record("2026-11-03T09:02:00.000Z", "pd", "", "manage", True, principal="arn:admin",
            details={"action": "update_customer", "status": "suspended"}, sha=SHA_B, version=2),
    _record("2026-11-03T09:03:00.000Z", "pd", "", "manage", True, principal="arn:admin",
            details={"action": "revoke_key", "key_id": "k1"}, sha=SHA_B, version=2),
    _record("2026-11-04T09:00:00.000Z", "gone", "", "delete", True, principal="arn:admin", source="erase_customer",
            details={"action": "erase_customer", "status": "COMPLETE", "pass": "1", "collections": "2",
                     "faces": "40", "images": "12"}, sha=SHA_B, version=2),
    _record("2026-12-01T00:00:00.000Z", "shop", "retail", "search", True),  # after the period
]


@pytest.fixture
def document() -> dict:
    return build_report(RECORDS, since="2026-11-01T00:00:00.000Z", until="2026-11-30T00:00:00.000Z",
                        generated_at="2026-11-30T00:00:00.000Z")


def test_totals_and_the_sector_operation_outcome_matrix(document: dict) -> None:
    assert document["totals"] == {"decisions": 7, "allowed": 4, "refused": 3, "customers": 3,
                                  "customers_refused": 2, "admin_actions": 3}
    decisions = document["decisions"]
    assert {"sector": "law_enforcement", "operation": "index", "outcome": "refused", "count": 1} in decisions
    assert {"sector": "retail", "operation": "search", "outcome": "allowed", "count": 2} in decisions
    assert {"sector": "unregistered", "operation": "detect", "outcome": "refused", "count": 1} in decisions


def test_refusals_by_rule_and_reason(document: dict) -> None:
    assert document["refusals"] == [
        {"rule_id": "", "reason_code": "CUSTOMER_UNKNOWN", "count": 1},
        {"rule_id": "law-enforcement-identification", "reason_code": "SECTOR_DISALLOWED", "count": 2},
    ]


def test_registry_changes_erasures_and_policy_versions(document: dict) -> None:
    assert document["registry"] == {"erase_customer": 1, "revoke_key": 1, "status_suspended": 1}
    assert document["offboarding_erased"] == {"collections": 2, "faces": 40, "images": 12}
    assert document["erasures"] == {"collections": 1, "images": 1}
    assert [(p["version"], p["sha256"], p["first_seen"], p["records"]) for p in document["policies"]] == [
        (1, SHA_A, "2026-11-01T10:00:00.000Z", 5), (2, SHA_B, "2026-11-03T09:00:00.000Z", 5)]


def test_csv_is_one_long_table(document: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    assert {"section": "refusals", "rule_id": "law-enforcement-identification", "reason_code": "SECTOR_DISALLOWED",
            "value": "2"}.items() <= next(r for r in rows if r["section"] == "refusals" and r["value"] == "2").items()
    assert {r["section"] for r in rows} >= {"period", "totals", "decisions", "refusals", "registry", "erasures",
                                            "daily", "policies"}


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") or (name == "style" and value and "url(" in value):
                self.external.append(f"{tag} {name}={value}")


def test_html_is_self_contained_with_inline_svg_charts(document: dict) -> None:
    page = render_html(document)
    parser = _Assets()
    parser.feed(page)
    assert parser.tags.count("svg") == 4 and "script" not in parser.tags and "link" not in parser.tags
    assert parser.external == []
    assert re.findall(r"https?://[^'\"]+", page) == ["http://www.w3.org/2000/svg"] * 4  # the SVG namespace only
    assert "law-enforcement-identification" in page and SHA_B in page


def test_html_escapes_what_the_audit_carries() -> None:
    hostile = [_record("2026-11-01T10:00:00.000Z", "x", "<script>alert(1)</script>", "search", True)]
    page = render_html(build_report(hostile, since="2026-11-01", until="2026-11-02", generated_at="now"))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_empty_period_renders() -> None:
    document = build_report([], since="2026-11-01", until="2026-11-02", generated_at="now")
    assert document["totals"]["decisions"] == 0
    assert "nothing in this period" in render_html(document)
    assert render_csv(document).startswith("section,")
