"""Run the locust scenario against a fresh local stack (optionally in a fault storm) and check the invariants.

    run(LoadOptions(users=6, seconds=45))                        # plain load: no 5xx allowed
    run(LoadOptions(users=3, seconds=20, faults=STORM_SPEC))     # a storm: faults, then the same invariants

Steps: start the stack in a child process (loopback only), register one media customer per locust user and a
police customer, put a few objects straight into the uploads bucket under the police customer's prefix (as a
leaked or stale upload URL would), run locust headless for a bounded time (it stops by itself; the child is
killed if it overruns; a storm passes when the traffic ends), then drain: finish deletes whose answer was
lost, wait until every upload has a final status and the index queue is empty, redrive the dead-letter queue
as the runbook says, read back faces, counts, statuses and the audit log, and check.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.credentials import Credentials

from bench.load.invariants import Observed, Summary, check, collection_key
from facesearch import dlq
from facesearch.client import ApiError, Client
from facesearch.errors import TransportError
from facesearch.local.process import spawn

ROOT = Path(__file__).resolve().parents[2]
LOCUST = ROOT / ".venv-load" / "bin" / "locust"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PHOTOS = ROOT / "tests" / "data" / "photos"
UPLOAD_PHOTOS = ("Tom_Hanks_54745.png", "mask_blue.jpg", "mask_white.jpg", "t1.jpg", "obama.jpg")
QUERY_PHOTO = "obama2.jpg"
COLLECTION = "load"
# share of attempts throttled/500, share of calls failing whatever the retries, crashing batches,
# the registry down 4 s in every 12 s
STORM_SPEC = "share=0.15,sticky=0.02,crash=0.3,outage=4/12,seed=18"
STORM_SETUP_SECONDS = 60  # arming (stack up) to traffic: registering customers in the storm took 33 s in CI
FINAL = ("INDEXED", "NO_FACES", "INVALID_IMAGE", "REJECTED_POLICY", "REJECTED_COLLECTION")

T = TypeVar("T")


@dataclass
class LoadOptions:
    users: int = 6  # media customers, one locust user each (plus one police user)
    seconds: int = 45
    spawn_rate: float = 2.0
    faults: str = ""  # a FaultPlan spec (facesearch.local.faults); "" = AWS behaves
    drain_seconds: float = 120.0
    police_objects: int = 3
    workdir: Path = field(default_factory=lambda: ROOT / ".facesearch" / "load")


@dataclass
class RouteStats:
    name: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float


@dataclass
class LoadResult:
    options: LoadOptions
    summary: Summary
    routes: list[RouteStats]
    faults: dict[str, int]
    elapsed_s: float

    def lines(self) -> list[str]:
        kind = f"storm ({self.options.faults})" if self.options.faults else "load"
        out = [f"{kind}: {self.options.users} customers + 1 police, {self.options.seconds} s of traffic, "
               f"{self.elapsed_s:.0f} s in all (shared 2-core machine: latencies are noisy)",
               f"{'route':<46} {'requests':>8} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7}"]
        out += [f"{r.name:<46} {r.requests:>8} {r.failures:>6} {r.p50_ms:>7.0f} {r.p95_ms:>7.0f}" for r in self.routes]
        if self.options.faults:
            out.append("faults injected: " + (", ".join(f"{k} {v}" for k, v in self.faults.items()) or "none"))
        return out + self.summary.lines()


def patient(call: Callable[[], T], *, seconds: float = 90.0, pause: float = 0.5) -> T:
    """Call until it answers, for up to `seconds`: retries 5xx, 429, connection errors and the authorizer
    failing closed (a cached refusal lasts the authorizer's cache time, ReauthorizeEvery)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except ApiError as exc:
            transient = exc.status >= 500 or exc.status == 429 or (exc.status == 403 and exc.code == "FORBIDDEN")
            if not transient or time.monotonic() > deadline:
                raise
        except TransportError:  # no answer at all (refused, dropped, timed out)
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)


def storm_spec(options: LoadOptions) -> str:
    """The fault spec, lasting the traffic plus STORM_SETUP_SECONDS unless it says `for=` itself: the storm
    then passes, and the drain checks that everything recovers, however slow the machine is."""
    if "for=" in options.faults:
        return options.faults
    return f"{options.faults},for={options.seconds + STORM_SETUP_SECONDS:g}"


def run(options: LoadOptions) -> LoadResult:
    if not LOCUST.exists():
        raise RuntimeError(f"{LOCUST} is missing: run scripts/setup_tool_venv.sh load (make load does)")
    work = options.workdir
    work.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    journal_path, faults_path = work / f"journal-{tag}.jsonl", work / f"faults-{tag}.json"
    args = ["--no-metrics", "--log-level", "WARNING"]
    if options.faults:
        args += ["--faults", storm_spec(options), "--faults-report", str(faults_path),
                 "--parameter-overrides", "PolicyCacheSeconds=0"]
    started = time.monotonic()
    with spawn(work / f"state-{tag}.json", work / f"stack-{tag}.log", extra_args=args) as stack:
        state = stack.state
        admin = Client(stack.endpoint, region=state["region"],
                       admin_credentials=Credentials(state["admin_access_key_id"], state["admin_secret_access_key"]))
        _phase("stack up", started)
        customers = _register(admin, options.users)
        police = next(c for c in customers if c["kind"] == "police")
        aws = _Aws(state)
        police_keys = _police_objects(aws, police, options.police_objects)
        plan = {"customers": customers, "journal": str(journal_path), "retry": bool(options.faults),
                "photos": [str(PHOTOS / p) for p in UPLOAD_PHOTOS], "query": str(PHOTOS / QUERY_PHOTO)}
        plan_path = work / f"plan-{tag}.json"
        plan_path.write_text(json.dumps(plan))
        _phase("customers registered", started)
        routes = _locust(stack.endpoint, plan_path, work / f"locust-{tag}", options)
        _phase("locust done", started)
        entries = _read_journal(journal_path)
        observed = _drain_and_observe(admin, aws, customers, entries, police_keys, options.drain_seconds)
        _phase("drained and observed", started)
    unaudited = unaudited_decisions(stack.log_file)
    observed.log_only_request_ids = {str(d["request_id"]) for d in unaudited}
    observed.police_index_denials += sum(1 for d in unaudited if _police_index_refusal(d, police["customer_id"]))
    faults = json.loads(faults_path.read_text())["injected"] if faults_path.exists() else {}
    summary = check(_read_journal(journal_path), observed, allow_5xx=bool(options.faults))
    return LoadResult(options, summary, routes, faults, time.monotonic() - started)


def _phase(what: str, started: float) -> None:
    print(f"  {time.monotonic() - started:6.1f} s  {what}", file=sys.stderr, flush=True)


def _register(admin: Client, users: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(users + 1):
        kind = "police" if i == users else "media"
        created = patient(lambda i=i, kind=kind: admin.create_customer(  # type: ignore[misc]
            name=f"load {kind} {i}", sector="law_enforcement" if kind == "police" else "media",
            jurisdiction="US" if kind == "police" else "DE", status="active"))
        customer = {"customer_id": created["customer"]["customer_id"], "api_key": created["api_key"]["secret"],
                    "kind": kind, "collection": COLLECTION}
        client = admin.with_key(customer["api_key"])
        patient(lambda client=client: client.create_collection(COLLECTION))  # type: ignore[misc]
        out.append(customer)
    return out


class _Aws:
    """boto3 clients on the stack's moto (the bucket and queues, as an operator with AWS access sees them)."""

    def __init__(self, state: dict[str, Any]) -> None:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name=state["region"])
        self.s3 = session.client("s3", endpoint_url=state["moto_endpoint"])
        self.sqs = session.client("sqs", endpoint_url=state["moto_endpoint"])
        self.resources: dict[str, str] = state["resources"]


def _police_objects(aws: _Aws, police: dict[str, Any], count: int) -> dict[str, str]:
    """Objects put straight into the bucket under the police prefix: image id -> key."""
    data = (PHOTOS / QUERY_PHOTO).read_bytes()
    keys: dict[str, str] = {}
    for _ in range(count):
        image_id = f"{uuid.uuid4().hex}.jpg"
        key = f"uploads/{police['customer_id']}/{police['collection']}/{image_id}"
        aws.s3.put_object(Bucket=aws.resources["UploadsBucket"], Key=key, Body=data, ContentType="image/jpeg")
        keys[image_id] = key
    return keys


def _locust(endpoint: str, plan: Path, prefix: Path, options: LoadOptions) -> list[RouteStats]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["FACESEARCH_LOAD_PLAN"] = str(plan)
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", endpoint,
               "-u", str(options.users + 1), "-r", str(options.spawn_rate), "--run-time", f"{options.seconds}s",
               "--stop-timeout", "10", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
               "--exit-code-on-error", "0"]
    with open(f"{prefix}.log", "wb") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=options.seconds + 90,
                       check=True)
    return read_stats(Path(f"{prefix}_stats.csv"))


def read_stats(path: Path) -> list[RouteStats]:
    """Per-route figures from locust's `--csv` stats file (the Aggregated row last)."""
    rows: list[RouteStats] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = "all routes" if row["Name"] == "Aggregated" else row["Name"]  # our names carry the method
            rows.append(RouteStats(name, int(row["Request Count"]), int(row["Failure Count"]),
                                   _ms(row["50%"]), _ms(row["95%"])))
    return rows


def _ms(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _drain_and_observe(admin: Client, aws: _Aws, customers: list[dict[str, Any]], entries: list[dict[str, Any]],
                       police_keys: dict[str, str], drain_seconds: float) -> Observed:
    clients = {c["customer_id"]: admin.with_key(c["api_key"]) for c in customers}
    police = next(c for c in customers if c["kind"] == "police")
    for e in entries:  # a delete whose answer was lost: finish it, as a client would
        if e["event"] == "delete_unknown":
            patient(lambda e=e: clients[e["customer"]].delete_faces(e["collection"], e["face_ids"]))  # type: ignore[misc]
    images = {e["image_id"]: (e["customer"], e["collection"]) for e in entries if e["event"] == "uploaded"}
    images.update({i: (police["customer_id"], police["collection"]) for i in police_keys})
    observed = Observed()
    queue, dead = aws.resources["IndexQueue"], aws.resources["IndexDeadLetterQueue"]
    deadline = time.monotonic() + drain_seconds
    while True:
        for image_id, (customer_id, collection) in images.items():
            if str(observed.statuses.get(image_id, {}).get("status")) in FINAL:
                continue
            try:
                observed.statuses[image_id] = patient(
                    lambda c=customer_id, k=collection, i=image_id: clients[c].image_status(k, i))  # type: ignore[misc]
            except ApiError as exc:
                observed.statuses[image_id] = {"status": f"ERROR {exc.code}"}
        pending = [i for i in images if str(observed.statuses.get(i, {}).get("status")) not in FINAL]
        queued, dead_letters = dlq.depth(aws.sqs, queue), dlq.depth(aws.sqs, dead)
        print(f"  drain: {len(pending)} of {len(images)} uploads pending, {queued} queued, "
              f"{dead_letters} dead letters", file=sys.stderr, flush=True)
        if dead_letters:
            observed.redriven += len(list(dlq.redrive(aws.sqs, dead, queue)))  # the runbook's answer to the alarm
        elif (not pending and not queued) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    observed.dlq_depth = dlq.depth(aws.sqs, dead)
    for c in customers:
        if c["kind"] != "media":
            continue
        key = collection_key(c["customer_id"], c["collection"])
        client = clients[c["customer_id"]]
        observed.faces[key] = patient(lambda client=client, c=c: client.list_faces(c["collection"]))  # type: ignore[misc]
        observed.face_counts[key] = int(patient(
            lambda client=client, c=c: client.describe_collection(c["collection"]))["face_count"])  # type: ignore[misc]
    refused = {e["customer"] for e in entries if e["event"] == "refused"} | {police["customer_id"]}
    for customer_id in sorted(refused):
        for record in _audit(admin, customer_id):
            observed.audited_request_ids.add(str(record.get("request_id", "")))
            if _police_index_refusal(record, police["customer_id"]):
                observed.police_index_denials += 1
    for image_id, key in police_keys.items():
        versions = aws.s3.list_object_versions(Bucket=aws.resources["UploadsBucket"], Prefix=key)
        observed.police_objects[key] = {
            "status": observed.statuses.get(image_id, {}).get("status"),
            "versions": len(versions.get("Versions", []))}  # delete markers hold no image
    return observed


def unaudited_decisions(log_file: Path) -> list[dict[str, Any]]:
    """The gate's decision log lines whose audit record could not be written to the table (the gate then
    logs "policy audit unavailable" with the request id): their structured log line is their only record."""
    entries: list[dict[str, Any]] = []
    for line in log_file.read_text(errors="replace").splitlines():
        if line.startswith("{") and "policy " in line:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    failed = {str(e.get("request_id")) for e in entries if e.get("message") == "policy audit unavailable"}
    return [e for e in entries if e.get("message") == "policy decision" and str(e.get("request_id")) in failed]


def _police_index_refusal(decision: dict[str, Any], police_id: str) -> bool:
    """An audit record or decision line: index_faces refused the police customer for its sector."""
    return (decision.get("customer_id") == police_id and decision.get("operation") == "index"
            and decision.get("reason_code") == "SECTOR_DISALLOWED"
            and str(decision.get("source", "")).startswith("index_faces"))


def _audit(admin: Client, customer_id: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = patient(lambda cursor=cursor: admin.request(  # type: ignore[misc]
            "GET", "/admin/audit", admin=True, params={"customer_id": customer_id, "limit": 500, "cursor": cursor}))
        records.extend(page.get("records", []))
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return records
