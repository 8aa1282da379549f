"""`make demo`: the story a newcomer runs first, told through the `facesearch` client over HTTP.

Starts the local stack in a child process (its logs go to .facesearch/demo-stack.log), registers a
media archive and a police department, indexes the test photos through presigned URLs, searches
with another photo of one person, shows the police department refused, prints the audit, stops.
Safe to re-run: every run starts an empty stack.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from botocore.credentials import Credentials

from facesearch.client import ApiError, Client, UploadResult
from facesearch.commands.index import summary
from facesearch.commands.search import print_matches
from facesearch.local.process import StackFailed, spawn
from facesearch.local.template import ROOT
from facesearch.output import Progress, table

PHOTOS = ROOT / "tests" / "data" / "photos"
QUERY = "obama2.jpg"  # another photo of a person in the collection
COLLECTION = "newsroom-archive"
WORK = ROOT / ".facesearch"


def console_url(endpoint: str) -> str:
    """The web console of a stack: static files on the API's own origin."""
    return f"{endpoint.rstrip('/')}/console/"


def heading(step: int, text: str) -> None:
    print(f"\n== {step}. {text}", flush=True)


def refusal(exc: ApiError) -> str:
    return f"refused: HTTP {exc.status} {exc.code}: {exc.message}"


def run() -> int:
    started = time.monotonic()
    heading(1, "Start the local stack (moto for AWS, the HTTP API and SQS poller from template.yaml)")
    with spawn(WORK / "demo-state.json", WORK / "demo-stack.log",
               extra_args=["--no-metrics", "--log-level", "WARNING"]) as stack:
        state = stack.state
        print(f"endpoint {stack.endpoint}  (moto {state['moto_endpoint']}, logs {stack.log_file.relative_to(ROOT)})")
        print(f"console  {console_url(stack.endpoint)}  (open it while the demo runs; `make serve` keeps a stack up)")
        admin = Client(stack.endpoint, region=state["region"],
                       admin_credentials=Credentials(state["admin_access_key_id"], state["admin_secret_access_key"]))
        code = story(admin)
    print(f"\nThe local stack is stopped. ({time.monotonic() - started:.0f}s)")
    print_next_steps()
    return code


def story(admin: Client) -> int:
    heading(2, "Register two customers (admin, IAM-signed): a media archive and a police department")
    archive = admin.create_customer(name="Northwind Media Archive", sector="media", jurisdiction="GB",
                                    status="active", use_cases=["archive-search"])
    police = admin.create_customer(name="Metro City Police Department", sector="law_enforcement",
                                   jurisdiction="US", status="active")
    columns = [("customer id", lambda r: r["customer"]["customer_id"]), ("name", lambda r: r["customer"]["name"]),
               ("sector", lambda r: r["customer"]["sector"]), ("status", lambda r: r["customer"]["status"]),
               ("API key (shown once)", lambda r: r["api_key"]["prefix"] + "...")]
    print(table([archive, police], columns))
    media = admin.with_key(archive["api_key"]["secret"])
    cops = admin.with_key(police["api_key"]["secret"])

    heading(3, f"The archive creates the collection '{COLLECTION}'")
    media.create_collection(COLLECTION)
    print(f"created {COLLECTION}")

    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.name != QUERY)
    heading(4, f"Upload {len(photos)} photos through presigned URLs, then wait until they are indexed")
    bar = Progress(len(photos), "uploading", stream=sys.stdout)
    results = media.upload_many(COLLECTION, photos, external_id=lambda p: p.name, on_done=lambda _: bar.advance())
    bar.close()
    bar = Progress(sum(r.status == "PENDING" for r in results), "indexing ", stream=sys.stdout)
    complete = media.wait_indexed(COLLECTION, results, timeout=90, on_done=lambda _: bar.advance())
    bar.close()
    print(table([vars(r) for r in results], [
        ("photo", lambda r: Path(r["path"]).name), ("status", lambda r: r["status"]),
        ("faces", lambda r: len(r["face_ids"])), ("reason", lambda r: r["code"])]))
    counts = summary(results)
    print(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v))
    if not complete:
        print("some photos were not indexed in time; see the stack log")
        return 1

    heading(5, f"Search the collection with {QUERY} (another photo of the same person)")
    result = media.search(COLLECTION, (PHOTOS / QUERY).read_bytes())
    print_matches(result)
    print(f"(32bit.png is {QUERY} itself saved as a 32-bit PNG, hence a similarity near 100; the others are "
          "different photos of the same person. Biden, Tom Hanks and the people in t1.jpg are not matched.)")

    heading(6, "The police department tries the same: upload, then search")
    police_refused = 0
    police_upload = cops.upload_file(COLLECTION, PHOTOS / QUERY, external_image_id=QUERY)
    if police_upload.status == "REFUSED":
        police_refused += 1
        print(f"upload {refusal_of(police_upload)}")
    else:
        print(f"upload not refused: {police_upload.status}")
    try:
        cops.search(COLLECTION, (PHOTOS / QUERY).read_bytes())
        print("search not refused")
    except ApiError as exc:
        police_refused += exc.code == "SECTOR_DISALLOWED"
        print(f"search {refusal(exc)}")

    heading(7, "The audit log (admin): every decision, with its reason and rule")
    records = admin.audit(limit=500)
    names = {archive["customer"]["customer_id"]: "media archive", police["customer"]["customer_id"]: "police dept"}
    denies = [r for r in records if r.get("decision") == "deny"]
    print(table(denies, [("time", lambda r: str(r.get("at", ""))[11:23]),
                         ("customer", lambda r: names.get(r.get("customer_id"), r.get("customer_id"))),
                         ("operation", lambda r: r.get("operation")), ("decision", lambda r: r.get("decision")),
                         ("reason", lambda r: r.get("reason_code")), ("rule", lambda r: r.get("rule_id")),
                         ("source", lambda r: r.get("source"))]))
    groups: dict[tuple[str, str, str, str], int] = {}
    for r in records:
        key = (names.get(r.get("customer_id", ""), r.get("customer_id", "")), r.get("operation", ""),
               r.get("decision", ""), r.get("reason_code", ""))
        groups[key] = groups.get(key, 0) + 1
    print(f"\nall {len(records)} records, by customer, operation and decision:")
    print(table([{"k": k, "n": n} for k, n in sorted(groups.items())], [
        ("customer", lambda g: g["k"][0]), ("operation", lambda g: g["k"][1]), ("decision", lambda g: g["k"][2]),
        ("reason", lambda g: g["k"][3]), ("count", lambda g: g["n"])]))
    return 0 if police_refused == 2 else 1


def refusal_of(result: UploadResult) -> str:
    return f"refused: {result.code}: {result.message}"


def print_next_steps() -> None:
    print("""
== Next: the web console
  make serve                              # a local stack that stays up; it prints the console's URL
  facesearch admin customers create --name "My Archive" --sector media --jurisdiction GB --status active
  # open <endpoint>/console/ and sign in with the key it printed once

== Next: the same client against a deployed stack
  sam build && sam deploy --guided        # creates the HTTP API, tables, bucket, queue, functions
  export FACESEARCH_ENDPOINT=<ApiUrl output, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod>
  facesearch admin customers create --name "My Archive" --sector media --jurisdiction GB --status active
  export FACESEARCH_API_KEY=<the key it printed once>
  facesearch collections create my-photos
  facesearch index ./photos --collection my-photos --wait
  facesearch search face.jpg --collection my-photos
(admin commands sign with your AWS credentials; locally, `facesearch local serve` and the same commands.)""")


def main() -> int:
    try:
        return run()
    except StackFailed as exc:
        print(f"the local stack did not start: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"unexpected error from the service: HTTP {exc.status} {exc.code}: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
