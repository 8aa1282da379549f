"""Cold start per function: init in a fresh process, as Lambda's init and first request pay it.

Each run is a new interpreter with the function's folder first on sys.path and its template.yaml
environment (resources named locally; nothing is called over the network). It times `import app`
(what Lambda's init runs), then the composition root (clients, adapters) and, for face_api and
index_faces, the model load (what the first request of a container adds), and prints the median of
RUNS runs with the slowest top-level imports of one `python -X importtime` run. Interpreter start-up
is not included (Lambda's runtime has started before init). Timings on a shared machine are noisy:
compare functions within one run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("COLD_START_RUNS", "7"))
TOP_IMPORTS = 5

# function id -> (folder, what the first request builds, the goal in seconds)
FUNCTIONS: dict[str, tuple[str, str, float]] = {
    "AuthorizerFunction": ("functions/authorizer", "app.get_registry()", 0.25),
    "RegistryApiFunction": ("functions/registry_api", "app.get_admin()", 0.4),
    "FaceApiFunction": ("functions/face_api", "import faceapi.deps; faceapi.deps.get_deps().engine", 0.6),
    "IndexFacesFunction": ("functions/index_faces", "app.get_indexer().engine", 0.6),
}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
{first_request}
t2 = time.perf_counter()
mods = set(sys.modules)
print(json.dumps({{"import": t1 - t0, "first": t2 - t1,
                  "loaded": sorted(m for m in ("jsonschema", "yaml", "aws_xray_sdk", "pydantic", "onnxruntime",
                                               "aws_lambda_powertools.event_handler", "boto3") if m in mods)}}))
"""


def function_env(function_id: str) -> dict[str, str]:
    """template.yaml's variables for the function (Globals + its own), with local resource names."""
    from facesearch.local.template import Names, Resolver, load_template

    template = load_template()
    resolver = Resolver(template, Names())
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    variables.update(template["Resources"][function_id]["Properties"].get("Environment", {}).get("Variables", {}))
    env = {k: str(resolver.resolve(v)) for k, v in variables.items()}
    return {**env, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": function_id, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def _child_env(function_id: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONHASHSEED", "PYTHONPATH")}
    return {**keep, **function_env(function_id), "PYTHONDONTWRITEBYTECODE": "1"}


def measure(function_id: str, *, importtime: bool = False) -> tuple[dict[str, Any], str]:
    folder, first_request, _ = FUNCTIONS[function_id]
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c",
            CHILD.format(first_request=first_request)]
    done = subprocess.run(args, cwd=ROOT / folder, env=_child_env(function_id), capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{function_id}: init failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


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
    picked = [(name, ms) for i, (depth, name, ms) in enumerate(entries)
              if (i < app_at and depth == 1) or (i > app_at and depth == 0)]
    return sorted(picked, key=lambda kv: -kv[1])[:n]


def reference_seconds() -> float:
    """A peer measured in the same run: `import boto3` alone in a fresh process (every function needs it)."""
    code = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                  check=True).stdout) for _ in range(RUNS)]
    return statistics.median(times)


def run() -> None:
    print(f"cold start: fresh process per run, median of {RUNS} (machine shared: noisy; compare within the run)")
    reference = reference_seconds()
    print(f"cold start reference: `import boto3` alone {reference:5.3f} s (ratios below are to it)")
    for function_id, (_, _, goal) in FUNCTIONS.items():
        samples = [measure(function_id)[0] for _ in range(RUNS)]
        imp = statistics.median(s["import"] for s in samples)
        first = statistics.median(s["first"] for s in samples)
        total = statistics.median(s["import"] + s["first"] for s in samples)
        _, log = measure(function_id, importtime=True)
        tops = ", ".join(f"{name} {ms:.0f}" for name, ms in top_imports(log))
        verdict = "ok" if total <= goal else "OVER"
        print(f"cold start {function_id:<20} init {total:5.3f} s (import {imp:5.3f} + first request {first:5.3f};"
              f" {total / reference:4.1f}x boto3)  goal {goal:.2f} s {verdict}"
              f"  loads: {', '.join(samples[0]['loaded']) or '-'}")
        print(f"    top imports (ms, cumulative): {tops}")


if __name__ == "__main__":
    run()
