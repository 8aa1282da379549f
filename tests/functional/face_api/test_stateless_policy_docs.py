"""Detect and compare (stateless), the policy gate on every route, OpenAPI and Swagger UI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from facesearch.local.template import load_template
from tests.support.events import event_names

from .faceapi_helpers import POLICE, Api, b64, photo


def test_detect_has_the_cli_face_shape(api: Api) -> None:
    status, body = api.call("http_detect", body={"image": b64(photo("t1.jpg"))})
    assert status == 200, body
    assert body["image"]["width"] > 0 and len(body["faces"]) >= 2
    expected = api.deps.engine.detect(photo("t1.jpg"))
    assert body["faces"] == [f.to_dict() for f in expected.faces]  # exactly `facesearch detect --json`


def test_compare_same_and_different_person(api: Api) -> None:
    status, body = api.call("http_compare", body={"source_image": b64(photo("obama.jpg")),
                                                  "target_image": b64(photo("obama2.jpg"))})
    assert status == 200, body
    assert len(body["face_matches"]) == 1 and body["face_matches"][0]["similarity"] >= 80
    assert set(body["face_matches"][0]["face"]) == {"bounding_box", "confidence", "landmarks", "quality"}
    assert body["source_face"]["bounding_box"]["width"] > 0
    status, body = api.call("http_compare", body={"source_image": b64(photo("obama.jpg")),
                                                  "target_image": b64(photo("biden.jpg"))})
    assert status == 200 and body["face_matches"] == [] and len(body["unmatched_faces"]) == 1


def test_compare_without_a_source_face_is_empty(api: Api) -> None:
    from .faceapi_helpers import blank_jpeg

    status, body = api.call("http_compare", body={"source_image": b64(blank_jpeg()),
                                                  "target_image": b64(photo("obama.jpg"))})
    assert (status, body) == (200, {"source_face": None, "face_matches": [], "unmatched_faces": []})
    status, body = api.call("http_compare", body={"source_image": b64(blank_jpeg()), "target_image": b64(b"junk")})
    assert status == 400 and body["code"] == "INVALID_IMAGE_FORMAT"


@pytest.mark.parametrize("payload", [{"image": b64(b"")}, {}, {"image": b64(b"\x89PNG\r\n\x1a\n broken")},
                                     {"image": "a", "extra": True}])
def test_detect_bad_requests_are_400(api: Api, payload: dict[str, Any]) -> None:
    status, body = api.call("http_detect", body=payload)
    assert status == 400 and body["code"] in ("INVALID_PARAMETER", "INVALID_IMAGE_FORMAT"), body


def test_police_search_is_denied_with_rule_and_audited(api: Api) -> None:
    # Given a law-enforcement customer with its own collection
    api.create_collection("suspects", customer=POLICE)
    # When it searches it (the named event)
    status, body = api.call("http_police_search", customer=POLICE)
    # Then the policy refuses before any work, with the rule, and the decision is audited
    assert status == 403, body
    assert body["code"] == "SECTOR_DISALLOWED" and body["rule_id"] == "law-enforcement-identification"
    assert body["message"]
    from facepolicy.env import admin_from_env

    records = admin_from_env(api.env).list_audit(customer_id=POLICE).items
    denied = [r for r in records if r.operation == "search" and not r.allowed]
    assert denied and denied[0].reason_code == "SECTOR_DISALLOWED"
    assert denied[0].source == "http POST /collections/{collection_id}/search"


@pytest.mark.parametrize(("name", "body"), [
    ("http_compare", {"source_image": "aGVsbG8=", "target_image": "aGVsbG8="}),
    ("http_search_users_by_image", {"image": "aGVsbG8="}),
    ("http_create_user", {"user_id": "x"}),
    ("http_create_upload", {"content_type": "image/jpeg", "content_length": 10}),
])
def test_police_identification_routes_are_denied(api: Api, name: str, body: dict[str, Any]) -> None:
    api.create_collection("family", customer=POLICE)
    status, answer = api.call(name, customer=POLICE, body=body)
    assert status == 403 and answer["code"] == "SECTOR_DISALLOWED", answer


def test_police_may_detect_and_delete_its_data(api: Api) -> None:
    # detection yields no identity and stays open; deleting one's own data is always allowed
    api.create_collection("family", customer=POLICE)
    assert api.call("http_detect", customer=POLICE, body={"image": b64(photo("obama.jpg"))})[0] == 200
    assert api.call("http_delete_collection", customer=POLICE)[0] == 200


def test_missing_customer_is_denied(api: Api) -> None:
    status, body = api.call("http_list_collections", customer=None)
    assert status == 403 and body["code"] == "CUSTOMER_UNKNOWN"
    status, body = api.call("http_list_collections", customer="ghost-co")
    assert status == 403 and body["code"] == "CUSTOMER_UNKNOWN"


def test_openapi_document_validates_and_lists_every_route(api: Api) -> None:
    status, doc = api.call("http_openapi", customer=None)
    assert status == 200
    validate(doc)
    routes = {f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops}
    template = load_template()["Resources"]["FaceApiFunction"]["Properties"]["Events"]
    declared = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in template.values()}
    assert routes == declared - {"GET /openapi.json", "GET /swagger"}
    assert doc["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"
    assert "ErrorBody" in json.dumps(doc["components"]["schemas"])


def test_swagger_ui_is_served(api: Api) -> None:
    status, html = api.call("http_swagger", customer=None)
    assert status == 200 and "swagger-ui" in html.lower() and "/collections/{collection_id}/search" in html


def test_every_route_has_a_named_event() -> None:
    template = load_template()["Resources"]["FaceApiFunction"]["Properties"]["Events"]
    names = set(event_names())
    covered = set()
    for name in names:
        if name.startswith("http_"):
            from tests.support.events import load_event

            covered.add(load_event(name)["routeKey"])
    assert {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in template.values()} <= covered


def test_police_sending_a_malformed_body_is_refused_not_validated(api: Api) -> None:
    # Given police sending a search body that would fail validation (unknown field, out-of-range number)
    api.create_collection("suspects", customer=POLICE)
    status, body = api.call("http_police_search", customer=POLICE, body={"max_faces": 0, "nonsense": True})
    # Then the answer is the policy's audited refusal, not a 400 that would hide it
    assert status == 403 and body["code"] == "SECTOR_DISALLOWED", body


def test_a_registry_outage_fails_closed_with_503_and_does_no_work(api: Api) -> None:
    from dataclasses import replace

    from facepolicy import InMemoryAuditLog, PolicyGate, RegistryUnavailable, load_policy

    class BrokenRegistry:
        def get_customer(self, customer_id: str) -> None:
            raise RegistryUnavailable("throttled")

        def customer_for_key(self, key_hash: str) -> None:
            raise RegistryUnavailable("throttled")

    # Given a registry that cannot be read
    audit = InMemoryAuditLog()
    api.use(replace(api.deps, gate=PolicyGate(BrokenRegistry(), audit, load_policy())))  # type: ignore[arg-type]
    # When a customer lists its collections
    status, body = api.call("http_list_collections")
    # Then the request is refused as retryable, with the reason code, and the refusal is audited
    assert status == 503 and body["code"] == "POLICY_UNAVAILABLE", body
    assert [r.reason_code for r in audit.records] == ["POLICY_UNAVAILABLE"]
