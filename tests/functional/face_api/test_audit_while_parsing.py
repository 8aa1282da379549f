"""Search by image decodes the photo it was sent while the allow's audit record is written, and detects
no face before that record is stored (facepolicy.http.requires(..., audit_while_parsing=True)).

A record that cannot be stored is the answer (503 POLICY_UNAVAILABLE), whatever the photo; a refused
caller's photo is never decoded; an uploaded object is read only after the record is stored."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from facepolicy import AuditUnavailable, PolicyGate

from .faceapi_helpers import POLICE, Api, b64, photo

SEARCHES = [("http_search_by_image", {}), ("http_search_users_by_image", {})]


class HeldAudit:
    """The gate's audit sink, holding each record until the test releases it (or refusing it then)."""

    def __init__(self, inner: Any, events: list[str], *, refuse: bool = False) -> None:
        self.inner, self.events, self.refuse = inner, events, refuse
        self.release = threading.Event()

    def record(self, record: Any) -> None:
        released = self.release.wait(5)  # not released while the route runs: the route waited for the record
        if self.refuse or not released:
            self.events.append("refused")
            raise AuditUnavailable("test: the audit table refuses the record")
        self.inner.record(record)
        self.events.append("stored")


def _held(api: Api, monkeypatch: pytest.MonkeyPatch, *, refuse: bool = False) -> tuple[list[str], HeldAudit]:
    """Serve with a held audit sink; the engine's decode releases the record and notes its steps."""
    events: list[str] = []
    gate: PolicyGate = api.deps.gate
    audit = HeldAudit(gate.audit, events, refuse=refuse)
    api.use(replace(api.deps, gate=PolicyGate(gate.registry, audit, gate.policy, clock=gate.clock,
                                              metrics=gate.metrics, quota=gate.quota)))
    engine = api.deps.engine
    decode, analyze_image, analyze = engine.decode, engine.analyze_image, engine.analyze

    def decoding(*args: Any, **kwargs: Any) -> Any:
        events.append("decode")
        try:
            return decode(*args, **kwargs)
        finally:
            audit.release.set()

    monkeypatch.setattr(engine, "decode", decoding)
    monkeypatch.setattr(engine, "analyze_image", lambda *a, **k: (events.append("detect"), analyze_image(*a, **k))[1])
    monkeypatch.setattr(engine, "analyze", lambda *a, **k: (events.append("detect"), analyze(*a, **k))[1])
    return events, audit


@pytest.mark.parametrize(("event", "extra"), SEARCHES)
def test_the_photo_is_decoded_while_the_record_is_written_and_no_face_is_detected_before(
        api: Api, monkeypatch: pytest.MonkeyPatch, event: str, extra: dict[str, Any]) -> None:
    api.create_collection()
    events, _ = _held(api, monkeypatch)
    status, body = api.call(event, body={"image": b64(photo("obama2.jpg")), **extra})
    assert status == 200, body
    assert events == ["decode", "stored", "detect"]


@pytest.mark.parametrize(("event", "extra"), SEARCHES)
def test_a_record_that_cannot_be_stored_is_the_answer_and_no_face_is_detected(
        api: Api, monkeypatch: pytest.MonkeyPatch, event: str, extra: dict[str, Any]) -> None:
    api.create_collection()
    events, _ = _held(api, monkeypatch, refuse=True)
    status, body = api.call(event, body={"image": b64(photo("obama2.jpg")), **extra})
    assert status == 503 and body["code"] == "POLICY_UNAVAILABLE", body
    assert events == ["decode", "refused"]


def test_a_bad_photo_with_a_record_that_cannot_be_stored_is_policy_unavailable_not_400(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_collection()
    events, _ = _held(api, monkeypatch, refuse=True)
    status, body = api.call("http_search_by_image", body={"image": b64(b"not a photo")})
    assert status == 503 and body["code"] == "POLICY_UNAVAILABLE", body
    assert events == ["decode", "refused"]


def test_an_uploaded_object_is_read_only_after_the_record_is_stored(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_collection()
    events, audit = _held(api, monkeypatch)
    s3 = api.deps.s3.client() if hasattr(api.deps.s3, "client") else api.deps.s3
    get_object = s3.get_object
    monkeypatch.setattr(s3, "get_object", lambda **kw: (events.append("read upload"), get_object(**kw))[1])
    audit.release.set()  # a synchronous check must not wait for a decode that comes after the read
    status, body = api.call("http_search_by_image", body={"s3_object": {"image_id": "missing.jpg"}})
    assert status == 404, body
    assert events == ["stored", "read upload"]


def test_a_refused_callers_photo_is_never_decoded(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_collection("suspects", customer=POLICE)
    events, audit = _held(api, monkeypatch)
    audit.release.set()
    status, body = api.call("http_search_by_image", customer=POLICE, path={"collection_id": "suspects"},
                            body={"image": b64(photo("obama2.jpg"))})
    assert status == 403 and body["code"] == "SECTOR_DISALLOWED", body
    assert events == ["stored"]  # the refusal's record, and nothing done with the photo

