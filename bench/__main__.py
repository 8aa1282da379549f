"""Run every benchmark module in BENCHMARKS (each exposes `run() -> None`); append yours."""

from __future__ import annotations

import importlib
import logging
import sys
import time

BENCHMARKS: list[str] = [
    "bench.engine",  # face engine vs OpenCV (same models) and face_recognition (dlib)
    "bench.compare",  # `facesearch compare` on 25 photos, whole process, vs OpenCV 5 and face_recognition
    "bench.accuracy",  # detection recall on group photos, verification on every same/different pair
    "bench.vector_index",  # exact vector index: warm search 10k/100k/1M, cold S3 load, memory, faiss ratio
    "bench.search",  # end-to-end search by photo through the face_api handler, 100k faces
    "bench.indexing",  # photos/s through index_faces over moto vs the engine alone (overhead ratio)
    "bench.cold_start",  # init per function in a fresh process (imports, wiring, models), top imports
    "bench.quota",  # rate limiter: counter writes per request and time per call, 4 containers over moto
    "bench.vector_search",  # DynamoDB vector-index engine's client cost per query vs exact, 10k/100k/1M
]


def main() -> int:
    """Every benchmark, or those named on the command line (`python -m bench bench.cold_start`). A benchmark
    that fails prints one FAILED line and the others still run; the exit status is then 1."""
    logging.disable(logging.INFO)  # per-request INFO lines (policy decisions, loads) would flood the figures
    failed = 0
    for name in sys.argv[1:] or BENCHMARKS:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(name).run()
        except (Exception, SystemExit) as exc:  # one broken bench must not hide the others
            failed += 1
            print(f"== {name} FAILED after {time.perf_counter() - started:.1f} s: {type(exc).__name__}: {exc}",
                  flush=True)
            continue
        print(f"== {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
