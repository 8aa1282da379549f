"""Cold start per function: init in a fresh process, and its first call, as Lambda's first request pays them.

A moto server on 127.0.0.1 stands in for AWS (the template's tables, buckets and queues; customer
`acme-photos` with a key). Each run is a new interpreter with the function's folder first on sys.path
and its template.yaml environment pointed at that server. It times

- import: `import app` (what Lambda's init runs), our code with its bytecode as the build ships it
  (`ship_bytecode`: no child compiles our modules from source, which no Lambda container does either);
- wiring: the composition root (clients, adapters) and, for face_api and index_faces, the model load,
  which the functions build on first use (the first request of a container pays it). The models come
  from the models layer as `sam build` builds it (verified, with its record), which the child sees
  read-only as Lambda mounts /opt, with an empty stamp cache as a fresh container has;
- first call: one real invocation of `lambda_handler` with a sample event from events/ (the authorizer
  a valid key, face_api ListCollections, registry_api ListCustomers, index_faces a removed upload),
  then a second, warm call of the same event.

`init` = import + wiring; the goal is judged on init + (first call - warm call), the cold part of the
first answer, so moving work from init into the first request cannot pass it. Interpreter start-up is
not included (Lambda's runtime has started before init). Medians of RUNS runs, with the slowest
top-level imports of one `python -X importtime` run. Timings on a shared machine are noisy: compare
functions within one run (the reference peer is `import boto3` alone). The same span in the child's CPU time
(process_time) is printed beside it: it drifts less with the other processes of a busy machine (A/B runs).
COLD_START_FUNCTIONS=FaceApiFunction,... narrows a run to those functions (default: all four).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("COLD_START_RUNS", "7"))
ONLY = [f for f in os.environ.get("COLD_START_FUNCTIONS", "").split(",") if f]  # e.g. FaceApiFunction; empty: all
TOP_IMPORTS = 5
CUSTOMER_ID = "acme-photos"  # the customer of the sample events

# function id -> (folder, what the first request builds, the sample event of its first call, the goal in seconds)
FUNCTIONS: dict[str, tuple[str, str, str, float]] = {
    "AuthorizerFunction": ("functions/authorizer", "app.get_registry()", "authorizer_request", 0.25),
    "RegistryApiFunction": ("functions/registry_api", "app.get_admin()", "registry_api_list_customers", 0.4),
    "FaceApiFunction": ("functions/face_api", "import faceapi.deps; faceapi.deps.get_deps().engine",
                        "http_list_collections", 0.6),
    "IndexFacesFunction": ("functions/index_faces", "app.get_indexer().engine", "sqs_s3_delete", 0.6),
}

CHILD = """
import json, os, sys, time
# Lambda mounts the models layer read-only under /opt: the layer built here reports so (os is loaded already)
_statvfs, _layer = os.statvfs, os.environ["FACESEARCH_MODEL_DIR"]
def _layer_statvfs(path, *args):
    found = _statvfs(path, *args)
    if os.fspath(path) != _layer:
        return found
    return os.statvfs_result((*found[:8], found.f_flag | os.ST_RDONLY, *found[9:]))
os.statvfs = _layer_statvfs
c0, t0 = time.process_time(), time.perf_counter()
import app
c1, t1 = time.process_time(), time.perf_counter()
{first_request}
c2, t2 = time.process_time(), time.perf_counter()

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    aws_request_id = "bench-cold-start"
    def get_remaining_time_in_millis(self):
        return 30000

event = json.loads(os.environ["BENCH_EVENT"])
first = app.lambda_handler(json.loads(json.dumps(event)), Context())
c3, t3 = time.process_time(), time.perf_counter()
warm = app.lambda_handler(json.loads(json.dumps(event)), Context())
c4, t4 = time.process_time(), time.perf_counter()
mods = set(sys.modules)
print("BENCH " + json.dumps({{"import": t1 - t0, "wiring": t2 - t1, "first": t3 - t2, "warm": t4 - t3,
                  "cpu": (c1 - c0) + (c2 - c1) + (c3 - c2) - (c4 - c3),
                  "answers": [first, warm],
                  "loaded": sorted(m for m in ("jsonschema", "yaml", "aws_xray_sdk", "pydantic", "onnxruntime",
                                               "aws_lambda_powertools.event_handler", "boto3") if m in mods)}},
                                 default=str))
"""


@contextmanager
def backend() -> Iterator[dict[str, str]]:
    """A moto server on 127.0.0.1 with the template's resources and the sample customer, and the models layer
    as `sam build` builds it; yields what the children need (endpoint, the customer's API key, the layer's
    model directory). Stopped and removed on exit."""
    import tempfile

    import boto3
    from moto.server import ThreadedMotoServer

    from facepolicy.env import admin_from_env
    from facesearch.local.stack import FAKE_CREDENTIALS, _EndpointSession, free_port
    from facesearch.local.template import Names, load_template, provision

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    layer = tempfile.TemporaryDirectory(prefix="bench-models-layer-")
    try:
        model_dir = build_models_layer(Path(layer.name))
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                region_name="us-east-1")
        provision(_EndpointSession(session, endpoint), load_template(), Names())
        env = function_env("FaceApiFunction", endpoint)
        admin = admin_from_env(env, resource=session.resource("dynamodb", endpoint_url=endpoint))
        _, issued = admin.create_customer(name="Acme Photos", sector="retail", jurisdiction="DE", status="active",
                                          customer_id=CUSTOMER_ID, principal="bench", request_id="bench")
        yield {"endpoint": endpoint, "api_key": issued.secret, "model_dir": str(model_dir)}
    finally:
        server.stop()
        layer.cleanup()


# What `sam build` ships with bytecode (layers/bytecode.mk): our layers' packages and the functions' folders
SHIPPED_WITH_BYTECODE = ("policy/facepolicy", "layers/engine/faceengine", "layers/store/facestore",
                         *(folder for folder, _, _, _ in FUNCTIONS.values()))


def ship_bytecode() -> int:
    """Compile our own code as the build ships it, so that no child compiles it from source (a Lambda container
    reads the build's .pyc; the deps are in the .venv with theirs). Timestamp-checked __pycache__ beside the
    sources (git-ignored; a later edit is recompiled, never run stale); returns the number of files."""
    import compileall

    count = 0
    for folder in SHIPPED_WITH_BYTECODE:
        if not compileall.compile_dir(ROOT / folder, quiet=1):
            raise SystemExit(f"cold start: {folder} does not compile")
        count += sum(1 for _ in (ROOT / folder).rglob("*.py"))
    return count


def build_models_layer(artifacts: Path) -> Path:
    """The models layer as `sam build` builds it (layers/models/build_layer.py: verified, with its record);
    returns its model directory (/opt/facesearch_models in Lambda)."""
    subprocess.run([sys.executable, str(ROOT / "layers" / "models" / "build_layer.py"), str(artifacts)], check=True,
                   capture_output=True, timeout=120)
    return artifacts / "facesearch_models"


def model_check_seconds(model_dir: str) -> tuple[float, float]:
    """(hashing SFace's files, as where the files are writable and no stamp vouches yet; reading the build's
    record, as on Lambda's read-only /opt): the model check of a fresh container, each way."""
    import time

    from faceengine.models import BUILD_RECORD, EMBEDDER_FILE, EMBEDDER_WEIGHTS, sha256_file

    hashing, record = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        for name in (EMBEDDER_FILE, EMBEDDER_WEIGHTS):
            sha256_file(Path(model_dir) / name)
        hashing.append(time.perf_counter() - started)
        started = time.perf_counter()
        json.loads((Path(model_dir) / BUILD_RECORD).read_text())
        record.append(time.perf_counter() - started)
    return statistics.median(hashing), statistics.median(record)


def function_env(function_id: str, endpoint: str) -> dict[str, str]:
    """template.yaml's variables for the function (Globals + its own), local resource names, AWS at `endpoint`."""
    from facesearch.local.stack import FAKE_CREDENTIALS
    from facesearch.local.template import Names, Resolver, load_template

    template = load_template()
    resolver = Resolver(template, Names())
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    variables.update(template["Resources"][function_id]["Properties"].get("Environment", {}).get("Variables", {}))
    env = {k: str(resolver.resolve(v)) for k, v in variables.items()}
    return {**env, **FAKE_CREDENTIALS, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "AWS_LAMBDA_FUNCTION_NAME": function_id}


def sample_event(function_id: str, env: dict[str, str], api_key: str) -> dict[str, Any]:
    """The function's sample event, pointed at the local resources and the sample customer's key."""
    _, _, name, _ = FUNCTIONS[function_id]
    text = (ROOT / "events" / f"{name}.json").read_text()
    if "UPLOADS_BUCKET" in env:
        text = text.replace("facesearch-prod-uploads-123456789012-us-east-1", env["UPLOADS_BUCKET"])
    event: dict[str, Any] = json.loads(text)
    if function_id == "AuthorizerFunction":
        event["headers"]["x-api-key"] = api_key
        event["identitySource"] = [api_key]
    return event


def _child_env(function_id: str, backend_info: dict[str, str], cache_dir: str) -> dict[str, str]:
    """The child's environment: the function's, Lambda's AWS_EXECUTION_ENV, the models layer as built
    (read-only in the child, as /opt), and an empty cache directory (a fresh container has no stamps)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONHASHSEED", "PYTHONPATH")}
    env = function_env(function_id, backend_info["endpoint"])
    event = sample_event(function_id, env, backend_info["api_key"])
    return {**keep, **env, "PYTHONDONTWRITEBYTECODE": "1", "BENCH_EVENT": json.dumps(event),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",  # as Lambda's runtime sets it (facepolicy.runtime)
            "FACESEARCH_MODEL_DIR": backend_info["model_dir"], "FACESEARCH_CACHE_DIR": cache_dir}


def answered(function_id: str, answer: Any) -> bool:
    """Whether a call was served (not refused or failed): the first call must do the real work."""
    if function_id == "AuthorizerFunction":
        return bool(answer.get("isAuthorized"))
    if function_id == "IndexFacesFunction":
        return answer.get("batchItemFailures") == []
    return int(answer.get("statusCode", 500)) < 400


def measure(function_id: str, backend_info: dict[str, str], *, importtime: bool = False) -> tuple[dict[str, Any], str]:
    folder, first_request, _, _ = FUNCTIONS[function_id]
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c",
            CHILD.format(first_request=first_request)]
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-cold-cache-") as cache_dir:
        done = subprocess.run(args, cwd=ROOT / folder, env=_child_env(function_id, backend_info, cache_dir),
                              capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{function_id}: init failed:\n{done.stderr[-2000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("BENCH "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    for answer in result["answers"]:
        if not answered(function_id, answer):
            raise SystemExit(f"{function_id}: the sample call was not served: {str(answer)[:500]}")
    return result, done.stderr


def top_imports(importtime_log: str, n: int = TOP_IMPORTS) -> list[tuple[str, float]]:
    """The slowest imports (cumulative ms) of a `-X importtime` log: app's direct imports, and the
    top-level ones made after it (lazily, by the first request); interpreter start-up is left out."""
    entries: list[tuple[int, str, float]] = []
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, raw = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        entries.append(((len(raw) - len(raw.lstrip(" ")) - 1) // 2, raw.strip(), int(cumulative) / 1000))
    app_at = next((i for i, (depth, name, _) in enumerate(entries) if depth == 0 and name == "app"), len(entries))
    # app's own imports are the depth-1 entries since the top-level import before it (interpreter start-up's)
    start = max((i for i in range(app_at) if entries[i][0] == 0), default=-1) + 1
    picked = [(name, ms) for i, (depth, name, ms) in enumerate(entries)
              if (start <= i < app_at and depth == 1) or (i > app_at and depth == 0)]
    return sorted(picked, key=lambda kv: -kv[1])[:n]


def selected_functions() -> dict[str, tuple[str, str, str, float]]:
    """FUNCTIONS, narrowed to COLD_START_FUNCTIONS when it is set (an unknown name is refused)."""
    unknown = sorted(set(ONLY) - set(FUNCTIONS))
    if unknown:
        raise SystemExit(f"cold start: unknown function(s) {', '.join(unknown)}; known: {', '.join(FUNCTIONS)}")
    return {f: spec for f, spec in FUNCTIONS.items() if not ONLY or f in ONLY}


def reference_seconds() -> float:
    """A peer measured in the same run: `import boto3` alone in a fresh process (every function needs it)."""
    code = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                  check=True).stdout) for _ in range(RUNS)]
    return statistics.median(times)


def run() -> None:
    print(f"cold start: fresh process per run, median of {RUNS}, AWS = moto on 127.0.0.1 (machine shared: noisy;"
          " compare within the run)")
    reference = reference_seconds()
    shipped = ship_bytecode()
    print(f"cold start reference: `import boto3` alone {reference:5.3f} s (ratios below are to it)")
    summary = []
    with backend() as info:
        hashing, record = model_check_seconds(info["model_dir"])
        print(f"cold start code: our {shipped} modules with their bytecode, as sam build ships them; the deps' as"
              " the .venv has them")
        print(f"cold start model check of a fresh container (no stamps): the build's record on read-only /opt"
              f" {record * 1000:.1f} ms (what the children do); hashing sface.onnx + sface.data where writable"
              f" {hashing * 1000:.0f} ms")
        for function_id, (_, _, event_name, goal) in selected_functions().items():
            samples = [measure(function_id, info)[0] for _ in range(RUNS)]
            med = {k: statistics.median(s[k] for s in samples) for k in ("import", "wiring", "first", "warm")}
            init = statistics.median(s["import"] + s["wiring"] for s in samples)
            cold = statistics.median(s["import"] + s["wiring"] + s["first"] - s["warm"] for s in samples)
            cpu = statistics.median(s["cpu"] for s in samples)
            _, log = measure(function_id, info, importtime=True)
            tops = ", ".join(f"{name} {ms:.0f}" for name, ms in top_imports(log))
            verdict = "ok" if cold <= goal else "OVER"
            print(f"cold start {function_id:<20} init {init:5.3f} s (import {med['import']:5.3f} + wiring"
                  f" {med['wiring']:5.3f}); first call {med['first']:5.3f} s, warm {med['warm']:5.3f} s ({event_name});"
                  f" cold {cold:5.3f} s = {cold / reference:3.1f}x boto3 (CPU {cpu:.3f}); goal {goal:.2f} s {verdict}")
            print(f"    loads: {', '.join(samples[0]['loaded']) or '-'}; top imports (ms, cumulative): {tops}")
            summary.append(f"{function_id.removesuffix('Function')} {cold:.3f} s (goal {goal:.2f}: "
                           f"{'met' if cold <= goal else 'over'})")
    print(f"cold start closing note: init + first - warm, median of {RUNS}, models from the built layer (read-only,"
          f" no stamps): {'; '.join(summary)}")


if __name__ == "__main__":
    run()
