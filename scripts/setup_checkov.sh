#!/usr/bin/env bash
# checkov in its own virtual environment (.venv-checkov): it pins its own boto3 and friends. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=$(grep -v '^#' requirements/checkov.txt | head -1)
if [ -x .venv-checkov/bin/checkov ] && [ "$(cat .venv-checkov/.installed 2>/dev/null)" = "$CHECKOV_VERSION" ]; then exit 0; fi
PY=$(bash scripts/setup.sh --print-python 2>/dev/null || command -v python3)
"$PY" -m venv .venv-checkov
.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checkov.txt 2>&1 | grep -v '^WARNING: Location' || true
.venv-checkov/bin/checkov --version >/dev/null || { echo "setup: checkov install failed" >&2; exit 1; }
echo "setup: checkov $(.venv-checkov/bin/checkov --version) in .venv-checkov"
echo "$CHECKOV_VERSION" > .venv-checkov/.installed
