#!/usr/bin/env bash
# Build the runtime-dependency layer (onnxruntime, numpy, pillow) into DEST/python, pruned.
#   Used by `sam build` (Makefile beside it) and by the benchmark that reports layer sizes.
#   Wheels only, for Lambda's python3.12 on x86_64, without the packages' optional dependencies:
#   onnxruntime's protobuf/flatbuffers/sympy/packaging serve only its tooling, never inference.
# Pruned: test suites, type stubs, onnxruntime's Python tooling (transformers, quantization, tools)
#   and libonnxruntime.so (the C API library; the Python binding is self-contained — verified by
#   running inference without it). Shipped with bytecode (below).
set -euo pipefail
DEST=${1:?usage: build.sh DEST [REQUIREMENTS]}
REQ=${2:-"$(dirname "$0")/requirements.txt"}
# sam build runs this from a scratch copy of layers/deps/, with Python 3.12 first on PATH (Makefile);
# the benchmark passes PYTHON. pip needs a 3.12 interpreter to resolve the 3.12-only wheels.
PY=${PYTHON:-$(command -v python3.12 || command -v python3)}
mkdir -p "$DEST/python"
"$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
  --target "$DEST/python" -r "$REQ" 2>&1 | grep -v '^WARNING: Location' || true
cd "$DEST/python"
rm -rf onnxruntime/transformers onnxruntime/quantization onnxruntime/tools onnxruntime/capi/libonnxruntime.so* \
       onnxruntime/ThirdPartyNotices.txt bin
find . -type d \( -name tests -o -name testing -o -name __pycache__ \) -prune -exec rm -rf {} +
find . -name '*.pyi' -delete
# Bytecode, compiled here: Lambda mounts the layer read-only, so without it every cold start compiles
# numpy, onnxruntime and Pillow from source (their import: ~1.6 s instead of ~0.3 s, measured on this
# layer; +6 MB). unchecked-hash: the files are immutable, and a zip's 2-second mtimes would fail
# timestamp checks. Only a 3.12 interpreter writes bytecode Lambda's python3.12 reads.
if "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
  "$PY" -m compileall -q -j 0 --invalidation-mode unchecked-hash . >/dev/null
else
  echo "build.sh: $("$PY" --version) is not Python 3.12: the layer ships without bytecode" >&2
fi
test -d onnxruntime/capi && test -d numpy && test -d PIL
