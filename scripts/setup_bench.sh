#!/usr/bin/env bash
# Install the benchmark-only dependencies (requirements/bench.txt) into .venv; safe to re-run (stamp file).
# face_recognition is installed with --no-deps: it requires the source `dlib`, which dlib-bin replaces.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
STAMP=.venv/.bench-installed
FACE_RECOGNITION=face_recognition==1.3.0
want=$( (cat requirements/bench.txt; echo "$FACE_RECOGNITION") | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
echo "setup_bench: installing benchmark dependencies"
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps "$FACE_RECOGNITION"
"$PY" -c 'import cv2, dlib, face_recognition; print("setup_bench: opencv", cv2.__version__, "dlib", dlib.__version__)'
echo "$want" > "$STAMP"
