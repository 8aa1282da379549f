"""Face engine benchmark: per-stage single-thread timings, cold start, peak memory, layer size, and the
same photos through OpenCV's FaceDetectorYN + FaceRecognizerSF (same prepared files) and face_recognition.
Also measures SFace cosines for same-person and different-person pairs (threshold check), and the stages of a
search's engine work in request order: how much is the JPEG decode and the two model runs, how much the rest."""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from faceengine import (
    SEARCH_MAX_SIDE,
    SEARCH_MIN_SIDE,
    SFACE_COSINE_THRESHOLD,
    FaceEngine,
    cosine_to_similarity,
    quality,
)
from faceengine.align import align
from faceengine.models import locate_models
from faceengine.yunet import input_scale

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "data" / "photos"
BENCH_PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "biden.jpg", "32bit.png",
                "t1.jpg")
REPEATS = 5
# identity of the largest face of each photo (t1.jpg's six people are handled separately)
IDENTITY = {"obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama",
            "obama_partial_face.jpg": "obama", "obama_partial_face2.jpg": "obama", "biden.jpg": "biden",
            "Tom_Hanks_54745.png": "hanks"}


def best_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def align_all(image: Any, landmarks: np.ndarray) -> list[np.ndarray]:
    return [align(image, points) for points in landmarks]


def engine_stages(engine: FaceEngine, photos: dict[str, bytes]) -> dict[str, float]:
    sums = dict.fromkeys(("decode", "detect", "align", "embed", "e2e"), 0.0)
    for data in photos.values():
        image = engine.decode(data)
        raw = engine.detector.detect(image)
        crops = np.stack([align(image, pts) for pts in raw.landmarks])
        sums["decode"] += best_ms(partial(engine.decode, data))
        sums["detect"] += best_ms(partial(engine.detector.detect, image))
        sums["align"] += best_ms(partial(align_all, image, raw.landmarks))
        sums["embed"] += best_ms(partial(engine.embedder.embed, crops))
        sums["e2e"] += best_ms(partial(engine.analyze, data))
    return {k: v / len(photos) for k, v in sums.items()}


SEARCH_PHOTO = "obama2.jpg"  # bench.search's query photo
SEARCH_ROUNDS = 40


def search_stages(engine: FaceEngine, data: bytes) -> dict[str, float]:
    """Median ms of each stage of a search's engine work (face_api's path: whole decode, detection at
    SEARCH_MIN_SIDE-SEARCH_MAX_SIDE, the largest face aligned and embedded), timed in order within each request,
    so each stage meets the caches as a request leaves them (SFace's 38 MB of weights stream through them)."""
    times: dict[str, list[float]] = {k: [] for k in ("decode", "detector input", "YuNet run", "boxes + NMS",
                                                     "align", "quality", "SFace run")}
    detector = engine.detector
    for _ in range(SEARCH_ROUNDS + 1):
        marks = [time.perf_counter()]
        image = engine.decode(data)
        marks.append(time.perf_counter())
        blob, scale = detector.preprocess(image, SEARCH_MAX_SIDE, min_side=SEARCH_MIN_SIDE)
        marks.append(time.perf_counter())
        outputs = detector.run(blob)
        marks.append(time.perf_counter())
        raw = detector.postprocess(outputs, (blob.shape[2], blob.shape[3]), scale)
        marks.append(time.perf_counter())
        largest = int(np.argmax(raw.boxes[:, 2] * raw.boxes[:, 3]))
        crop = align(image, raw.landmarks[largest])
        marks.append(time.perf_counter())
        quality.measure(crop, raw.landmarks[largest])
        marks.append(time.perf_counter())
        engine.embedder.embed(crop[None])
        marks.append(time.perf_counter())
        for key, start, end in zip(times, marks, marks[1:], strict=False):
            times[key].append((end - start) * 1000.0)
    return {k: statistics.median(v[1:]) for k, v in times.items()}  # the first round warms up


def opencv_pipeline(photos: dict[str, bytes], engine: FaceEngine) -> tuple[float, list[float]]:
    """ms per photo end to end through OpenCV, and the cosine between OpenCV's and our embeddings of the
    same faces (OpenCV's alignCrop + feature fed with our landmarks on the same decoded pixels)."""
    import cv2

    cv2.setNumThreads(1)
    files = locate_models()
    detector = cv2.FaceDetectorYN.create(str(files.detector), "", (320, 320), 0.6, 0.3, 5000)
    recognizer = cv2.FaceRecognizerSF.create(str(files.embedder), "")

    def run(data: bytes) -> int:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError("OpenCV could not decode a benchmark photo")
        h, w = bgr.shape[:2]
        scale = input_scale(w, h)
        small = cv2.resize(bgr, (round(w * scale), round(h * scale))) if scale < 1 else bgr
        detector.setInputSize((small.shape[1], small.shape[0]))
        _, faces = detector.detect(small)
        faces = np.zeros((0, 15), np.float32) if faces is None else faces
        for face in faces:
            row = face.copy()
            row[:14] /= scale
            recognizer.feature(recognizer.alignCrop(bgr, row))
        return len(faces)

    total = sum(best_ms(partial(run, data)) for data in photos.values()) / len(photos)
    agreement = []
    for data in photos.values():
        image = engine.decode(data)
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        analysis = engine.analyze_image(image)
        for face in analysis.faces:
            row = np.zeros(15, np.float32)
            b = face.face.box
            row[:4] = (b.left, b.top, b.width, b.height)
            row[4:14] = np.array([[lm.x, lm.y] for lm in face.face.landmarks]).reshape(-1)
            theirs = recognizer.feature(recognizer.alignCrop(bgr, row)).reshape(-1)
            agreement.append(float(theirs @ face.embedding / np.linalg.norm(theirs)))
    return total, agreement


def face_recognition_pipeline(photos: dict[str, bytes]) -> float:
    import io
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition

    def run(data: bytes) -> int:
        image = face_recognition.load_image_file(io.BytesIO(data))
        locations = face_recognition.face_locations(image)
        return len(face_recognition.face_encodings(image, locations))

    return sum(best_ms(partial(run, data), repeats=1) for data in photos.values()) / len(photos)


def subprocess_figures() -> tuple[float, float, float]:
    """(cold start s: imports + model load, process wall s, peak RSS MB after analysing every photo)."""
    code = (
        "import time,resource,sys; t=time.perf_counter()\n"
        "from faceengine import FaceEngine\n"
        "e=FaceEngine.load(threads=1); cold=time.perf_counter()-t\n"
        f"from pathlib import Path\nfor n in {list(BENCH_PHOTOS)!r}: e.analyze(Path({str(PHOTOS)!r}, n).read_bytes())\n"
        "print(cold, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    cold, peak = (float(x) for x in out.split())
    colds = [cold]
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code.split("from pathlib")[0] + "print(cold, 0)\n"],
                             check=True, capture_output=True, text=True).stdout
        colds.append(float(out.split()[0]))
    return min(colds), time.perf_counter() - start, peak


def layer_size_mb() -> tuple[float, float]:
    """(deps MB, models MB) unzipped: the deps layer built exactly as `sam build` builds it."""
    with tempfile.TemporaryDirectory() as tmp:
        python = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--print-python"], check=True,
                                capture_output=True, text=True).stdout.strip()
        subprocess.run(["bash", str(ROOT / "layers" / "deps" / "build.sh"), tmp], check=True, capture_output=True,
                       env={**os.environ, "PYTHON": python})
        deps = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file() and not p.is_symlink())
    models_dir = locate_models().directory
    models = sum(p.stat().st_size for p in models_dir.iterdir() if p.is_file())
    return deps / 1e6, models / 1e6


def threshold_study(engine: FaceEngine) -> None:
    vectors: list[tuple[str, np.ndarray]] = []
    for name, who in IDENTITY.items():
        vectors.append((who, engine.source_face((PHOTOS / name).read_bytes()).embedding))
    for i, face in enumerate(engine.analyze((PHOTOS / "t1.jpg").read_bytes()).faces):
        vectors.append((f"t1-person{i}", face.embedding))
    same: list[float] = []
    diff: list[float] = []
    for (a, va), (b, vb) in itertools.combinations(vectors, 2):
        (same if a == b else diff).append(float(va @ vb))
    s, d = np.array(same), np.array(diff)
    print(f"threshold: same-person pairs n={s.size} cosine min {s.min():.3f} mean {s.mean():.3f} max {s.max():.3f}")
    print(f"threshold: different-person pairs n={d.size} cosine min {d.min():.3f} mean {d.mean():.3f} "
          f"max {d.max():.3f}")
    at = cosine_to_similarity(SFACE_COSINE_THRESHOLD)
    print(f"threshold: at cosine {SFACE_COSINE_THRESHOLD} (similarity {at:.0f}): "
          f"false non-matches {int((s < SFACE_COSINE_THRESHOLD).sum())}/{s.size}, "
          f"false matches {int((d >= SFACE_COSINE_THRESHOLD).sum())}/{d.size}; "
          f"gap between worst same ({s.min():.3f}) and worst different ({d.max():.3f})")


def run() -> None:
    photos = {name: (PHOTOS / name).read_bytes() for name in BENCH_PHOTOS}
    engine = FaceEngine.load(threads=1)
    faces = sum(len(engine.detect(d).faces) for d in photos.values())
    print(f"photos: {len(photos)} ({faces} faces), median of {REPEATS} runs each, single thread")
    stages = engine_stages(engine, photos)
    print("engine ms/photo: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    search = search_stages(engine, photos[SEARCH_PHOTO])
    runs = search["decode"] + search["YuNet run"] + search["SFace run"]
    print(f"search engine stages ({SEARCH_PHOTO}, in order within each request, median ms of {SEARCH_ROUNDS}): "
          + ", ".join(f"{k} {v:.2f}" for k, v in search.items())
          + f"; total {sum(search.values()):.1f}, of which the JPEG decode and the two model runs {runs:.1f}, "
          f"the rest {sum(search.values()) - runs:.1f}")
    cold, _wall, peak = subprocess_figures()
    print(f"cold start (imports + model load): {cold:.2f} s; peak RSS after all photos: {peak:.0f} MB")
    try:
        cv_ms, agreement = opencv_pipeline(photos, engine)
        print(f"opencv (FaceDetectorYN + FaceRecognizerSF, same files) e2e ms/photo: {cv_ms:.1f}; "
              f"ratio engine/opencv: {stages['e2e'] / cv_ms:.2f} (target <= 1.0)")
        print(f"embedding agreement with opencv (cosine, {len(agreement)} faces): min {min(agreement):.5f} "
              f"mean {statistics.mean(agreement):.5f} (target >= 0.999)")
    except ImportError as exc:
        print(f"opencv: not installed ({exc}); run scripts/setup_bench.sh")
    try:
        fr_ms = face_recognition_pipeline(photos)
        print(f"face_recognition (dlib HOG + ResNet) e2e ms/photo: {fr_ms:.1f}; "
              f"speed-up engine vs face_recognition: {fr_ms / stages['e2e']:.1f}x (target >= 10x)")
    except ImportError as exc:
        print(f"face_recognition: not installed ({exc}); run scripts/setup_bench.sh")
    deps, models = layer_size_mb()
    print(f"runtime layers unzipped: deps {deps:.1f} MB + models {models:.1f} MB = {deps + models:.1f} MB "
          "(target <= 150 MB)")
    threshold_study(engine)
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)
