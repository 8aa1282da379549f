"""`facesearch compare` on 25 large photos, whole process, one thread, against OpenCV 5 and face_recognition.

Each contender is a fresh process (imports, model load, decode, detect, embed, compare) run on the same 25
files: the seven portrait photos of the pinned test set (0.56-3.3 megapixels: obama*, biden, 32bit.png)
copied in turn to 25 files; the first is the source, the other 24 the targets (every face of each target is
compared with the source's largest face). Contenders alternate within each round, so machine noise hits
them alike; the lines give the median wall time over the rounds and the median of the per-round ratios.

- ours: `facesearch compare SOURCE TARGET... --json` (the CLI, one thread), with its packages' bytecode
  compiled first, as a pip install of the package compiles it (the checkout is installed editable, and with
  PYTHONDONTWRITEBYTECODE set every run would compile facesearch and faceengine from source: ~40 ms here).
- OpenCV 5: FaceDetectorYN + FaceRecognizerSF (opencv-python-headless, requirements/bench.txt) on our
  prepared yunet.onnx and sface.onnx (and on SFace before the PRelu rewrite, if given; the faster counts),
  detection input downscaled to a longer side of 960 as our engine's MAX_SIDE, cv2.imdecode, one thread.
- face_recognition 1.3.0 (dlib HOG detector + ResNet encoder), one thread.

    python -m bench.compare [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from faceengine.models import locate_models

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "data" / "photos"
PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg",
             "biden.jpg", "32bit.png")
N_PHOTOS = 25
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

OPENCV_SCRIPT = """
import sys, numpy as np, cv2
cv2.setNumThreads(1)
yunet, sface, max_side, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
detector = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.6, 0.3, 5000)
recognizer = cv2.FaceRecognizerSF.create(sface, "")
def faces(path):
    bgr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(w, h))
    small = cv2.resize(bgr, (round(w * scale), round(h * scale))) if scale < 1 else bgr
    detector.setInputSize((small.shape[1], small.shape[0]))
    found = detector.detect(small)[1]
    out = []
    for face in ([] if found is None else found):
        row = face.copy(); row[:14] /= scale
        out.append((float(row[2] * row[3]), recognizer.feature(recognizer.alignCrop(bgr, row))))
    return sorted(out, key=lambda f: -f[0])
source = faces(paths[0])[0][1]
matches = 0
for path in paths[1:]:
    for _, feature in faces(path):
        matches += recognizer.match(source, feature, cv2.FaceRecognizerSF_FR_COSINE) >= 0.363
print(matches)
"""

FACE_RECOGNITION_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
import face_recognition
def encodings(path):
    image = face_recognition.load_image_file(path)
    return face_recognition.face_encodings(image, face_recognition.face_locations(image))
source = encodings(sys.argv[1])[0]
matches = 0
for path in sys.argv[2:]:
    found = encodings(path)
    if found:
        matches += int((face_recognition.face_distance(found, source) <= 0.6).sum())
print(matches)
"""


def make_photo_set(directory: Path, count: int = N_PHOTOS) -> list[Path]:
    """`count` files cycling through the portrait photos (distinct names, same bytes as the originals)."""
    paths = []
    for i in range(count):
        name = PORTRAITS[i % len(PORTRAITS)]
        path = directory / f"{i:02d}-{name}"
        shutil.copyfile(PHOTOS / name, path)
        paths.append(path)
    return paths


def compile_packages() -> None:
    """Bytecode for the packages `facesearch compare` imports (faceengine, facesearch), written even where
    PYTHONDONTWRITEBYTECODE is set: what installing them as a wheel does (see the module docstring)."""
    import compileall

    import faceengine
    import facesearch

    for package in (faceengine, facesearch):
        compileall.compile_dir(str(Path(str(package.__file__)).parent), quiet=1)


def timed(command: Sequence[str]) -> float:
    """Wall seconds of one process (its output is discarded; a failure is an error)."""
    start = time.perf_counter()
    subprocess.run(list(command), check=True, stdout=subprocess.DEVNULL, env={**os.environ, **ONE_THREAD})
    return time.perf_counter() - start


def contenders(paths: list[Path], reference_sface: Path | None,
               baseline: str | None) -> dict[str, list[list[str]]]:
    files = locate_models()
    names = [str(p) for p in paths]
    facesearch = str(Path(sys.executable).with_name("facesearch"))
    result = {"facesearch": [[facesearch, "compare", *names, "--json"]]}
    if baseline:
        result["baseline"] = [[baseline, "compare", *names, "--json"]]
    try:
        import cv2  # noqa: F401
    except ImportError:
        print("bench.compare: opencv not installed; run scripts/setup_bench.sh")
    else:
        sfaces = [files.embedder] + ([reference_sface] if reference_sface else [])
        result["opencv5"] = [[sys.executable, "-c", OPENCV_SCRIPT, str(files.detector), str(s), "960", *names]
                             for s in sfaces]
    try:
        import face_recognition  # noqa: F401
    except ImportError:
        print("bench.compare: face_recognition not installed; run scripts/setup_bench.sh")
    else:
        result["face_recognition"] = [[sys.executable, "-c", FACE_RECOGNITION_SCRIPT, *names]]
    return result


STARTUP_PHOTO = "Tom_Hanks_54745.png"  # 112x112: one small face, so a run is mostly start-up


def startup(rounds: int) -> dict[str, float]:
    """Median wall seconds of each contender on two copies of a 112x112 photo: start-up (interpreter, imports,
    model load) plus two tiny photos, the fixed cost inside every compare run."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(2):
            path = Path(tmp) / f"{i}-{STARTUP_PHOTO}"
            shutil.copyfile(PHOTOS / STARTUP_PHOTO, path)
            paths.append(path)
        runs = {name: commands[0] for name, commands in contenders(paths, None, None).items()
                if name in ("facesearch", "opencv5")}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, command in runs.items():
                times[name].append(timed(command))
    return {name: statistics.median(values) for name, values in times.items()}


def run(rounds: int = 5, reference_sface: Path | None = None, baseline: str | None = None) -> None:
    compile_packages()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_photo_set(Path(tmp))
        runs = contenders(paths, reference_sface, baseline)
        for commands in runs.values():  # warm the page cache and check every contender works
            for command in commands:
                timed(command)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, commands in runs.items():
                times[name].append(min(timed(command) for command in commands))
    ours = times["facesearch"]
    print(f"compare: {N_PHOTOS} photos ({', '.join(PORTRAITS)} in turn), whole process, one thread, "
          f"{rounds} alternating rounds; facesearch {statistics.median(ours):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in ours)})")
    if "baseline" in times:
        ratios = [a / b for a, b in zip(ours, times["baseline"], strict=True)]
        print(f"compare: baseline ({baseline}) {statistics.median(times['baseline']):.2f} s; "
              f"facesearch/baseline {statistics.median(ratios):.2f}")
    if "opencv5" in times:
        ratios = [a / b for a, b in zip(ours, times["opencv5"], strict=True)]
        print(f"compare: opencv 5 (same model files) {statistics.median(times['opencv5']):.2f} s; "
              f"facesearch/opencv {statistics.median(ratios):.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
              "target <= 0.70)")
    fixed = startup(max(3, rounds))
    print("compare: start-up (2 photos of 112x112: interpreter, imports, model load) "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in fixed.items()))
    if "face_recognition" in times:
        speedups = [b / a for a, b in zip(ours, times["face_recognition"], strict=True)]
        print(f"compare: face_recognition {statistics.median(times['face_recognition']):.2f} s; "
              f"facesearch {statistics.median(speedups):.1f}x faster "
              f"(rounds {', '.join(f'{s:.1f}' for s in speedups)}; target >= 10x)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reference-sface", type=Path, default=None,
                        help="SFace before the PRelu rewrite, also given to OpenCV (its faster run counts)")
    parser.add_argument("--baseline", default=None, help="another facesearch executable, e.g. an older build")
    args = parser.parse_args(argv)
    run(args.rounds, args.reference_sface, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
