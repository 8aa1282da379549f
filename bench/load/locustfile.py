"""The locust scenario of `make load` (run by `python -m bench.load`, in .venv-load; imports locust only).

Several customers at once, each in its own collection: ask for an upload URL and PUT a photo, poll
image statuses, search by photo, delete the faces of an indexed image, describe the collection. One
police customer keeps trying to search, upload and compare, and must be refused every time. Every
action that matters to the invariants (uploaded, final status, deleted faces, refusals with their
request id, 5xx) is appended to a JSON-lines journal; `bench.load.invariants` checks it afterwards.

The plan (endpoint, customers and keys, photos, journal path, retry policy) comes from the JSON file
named by FACESEARCH_LOAD_PLAN.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["FACESEARCH_LOAD_PLAN"]).read_text())
_JOURNAL = open(PLAN["journal"], "a", buffering=1, encoding="utf-8")  # one per locust process, line-buffered
_MEDIA = itertools.cycle([c for c in PLAN["customers"] if c["kind"] == "media"])
_POLICE = itertools.cycle([c for c in PLAN["customers"] if c["kind"] == "police"])
PHOTOS = {Path(p).name: Path(p).read_bytes() for p in PLAN["photos"]}
QUERY = Path(PLAN["query"]).read_bytes()
QUERY_B64 = base64.b64encode(QUERY).decode("ascii")
ATTEMPTS = 6 if PLAN.get("retry") else 1  # in a storm, clients retry 5xx and 429 as the client library does
FINAL = ("INDEXED", "NO_FACES", "INVALID_IMAGE")
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def journal(**entry: Any) -> None:
    entry["t"] = round(time.time(), 3)
    _JOURNAL.write(json.dumps(entry) + "\n")


class _Caller(HttpUser):
    abstract = True
    customer: dict[str, Any]

    def call(self, method: str, path: str, name: str, *, body: Any = None, ok: tuple[int, ...] = (200,),
             refusal_ok: bool = False) -> Any:
        """One API call as a client would make it: retried on 5xx/429 in a storm; the final answer or None."""
        headers = {"x-api-key": self.customer["api_key"]}
        for attempt in range(ATTEMPTS):
            with self.client.request(method, path, name=name, json=body, headers=headers,
                                     catch_response=True) as response:
                status = response.status_code
                code = _code(response)
                request_id = response.headers.get("apigw-requestid", "")
                if status in (403, 503) and code:  # a policy refusal: it must be audited
                    journal(event="refused", customer=self.customer["customer_id"], route=name, status=status,
                            code=code, request_id=request_id)
                if status >= 500 or status in (0, 429):
                    journal(event="5xx" if status >= 500 else "throttled", customer=self.customer["customer_id"],
                            route=name, status=status, code=code)
                    response.failure(f"{status} {code}")
                    if attempt + 1 < ATTEMPTS:
                        gevent.sleep(min(4.0, 0.25 * 2 ** attempt) * (0.5 + random.random()))
                        continue
                    return None
                if status in ok or (refusal_ok and status == 403):
                    response.success()
                    return response
                if status == 403 and not code and PLAN.get("retry"):  # the authorizer failed closed (outage)
                    journal(event="authorizer_refused", customer=self.customer["customer_id"], route=name)
                    response.success()
                    gevent.sleep(1.0)
                    continue
                response.failure(f"unexpected {status} {code}")
                journal(event="unexpected", customer=self.customer["customer_id"], route=name, status=status,
                        code=code)
                return None
        return None


class Customer(_Caller):
    """A media customer working in its own collection."""

    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.customer = next(_MEDIA)
        self.collection = self.customer["collection"]
        self.base = f"/collections/{self.collection}"
        self.pending: list[str] = []
        self.indexed: list[tuple[str, list[str]]] = []

    @task(3)
    def upload(self) -> None:
        name = random.choice(sorted(PHOTOS))
        data = PHOTOS[name]
        answer = self.call("POST", f"{self.base}/uploads", "POST /collections/{id}/uploads", ok=(201,),
                           body={"content_type": TYPES[Path(name).suffix.lower()], "content_length": len(data),
                                 "external_image_id": name})
        if answer is None:
            return
        ticket = answer.json()
        with self.client.request(ticket["method"], ticket["url"], data=data, headers=ticket["headers"],
                                 name="PUT presigned upload (S3)", catch_response=True) as put:
            if put.status_code >= 300:
                put.failure(f"{put.status_code}")
                journal(event="upload_failed", customer=self.customer["customer_id"], image_id=ticket["image_id"])
                return
        self.pending.append(ticket["image_id"])
        journal(event="uploaded", customer=self.customer["customer_id"], collection=self.collection,
                image_id=ticket["image_id"], photo=name)

    @task(4)
    def poll(self) -> None:
        if not self.pending:
            return
        image_id = self.pending.pop(0)
        answer = self.call("GET", f"{self.base}/images/{image_id}", "GET /collections/{id}/images/{image_id}",
                           ok=(200, 404))
        status = answer.json() if answer is not None and answer.status_code == 200 else {}
        state = status.get("status", "PENDING")
        if state == "PENDING":
            self.pending.append(image_id)
            return
        journal(event="final", customer=self.customer["customer_id"], collection=self.collection,
                image_id=image_id, status=state, face_ids=status.get("face_ids") or [])
        if state == "INDEXED" and status.get("face_ids"):
            self.indexed.append((image_id, list(status["face_ids"])))

    @task(2)
    def search(self) -> None:
        self.call("POST", f"{self.base}/search", "POST /collections/{id}/search",
                  body={"image": QUERY_B64, "max_faces": 10})

    @task(1)
    def delete(self) -> None:
        if len(self.indexed) < 2:  # keep some faces to search
            return
        image_id, face_ids = self.indexed.pop(random.randrange(len(self.indexed)))
        answer = self.call("DELETE", f"{self.base}/faces", "DELETE /collections/{id}/faces",
                           body={"face_ids": face_ids})
        if answer is None:
            journal(event="delete_unknown", customer=self.customer["customer_id"], collection=self.collection,
                    image_id=image_id, face_ids=face_ids)
            return
        result = answer.json()
        journal(event="deleted", customer=self.customer["customer_id"], collection=self.collection,
                image_id=image_id, face_ids=face_ids, deleted=result.get("deleted_faces", []),
                unsuccessful=result.get("unsuccessful_face_deletions", []))

    @task(1)
    def describe(self) -> None:
        self.call("GET", self.base, "GET /collections/{id}")


class Police(_Caller):
    """A police department: every identifying call must be refused, and audited."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.customer = next(_POLICE)
        self.base = f"/collections/{self.customer['collection']}"

    def _must_refuse(self, answer: Any, route: str) -> None:
        if answer is not None and answer.status_code < 300:
            journal(event="police_served", customer=self.customer["customer_id"], route=route,
                    status=answer.status_code)

    @task(2)
    def search(self) -> None:
        route = "POST /collections/{id}/search (police)"
        self._must_refuse(self.call("POST", f"{self.base}/search", route, body={"image": QUERY_B64},
                                    refusal_ok=True), route)

    @task(1)
    def upload(self) -> None:
        route = "POST /collections/{id}/uploads (police)"
        self._must_refuse(self.call("POST", f"{self.base}/uploads", route, refusal_ok=True,
                                    body={"content_type": "image/jpeg", "content_length": len(QUERY)}), route)

    @task(1)
    def compare(self) -> None:
        route = "POST /compare (police)"
        self._must_refuse(self.call("POST", "/compare", route, refusal_ok=True,
                                    body={"source_image": QUERY_B64, "target_image": QUERY_B64}), route)


def _code(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""
