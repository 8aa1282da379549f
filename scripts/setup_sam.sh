#!/usr/bin/env bash
# The SAM CLI in its own virtual environment (.venv-sam): it pins its own boto3. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
SAM_VERSION=$(grep -v '^#' requirements/sam.txt | head -1)
if [ -x .venv-sam/bin/sam ] && [ "$(cat .venv-sam/.installed 2>/dev/null)" = "$SAM_VERSION" ]; then exit 0; fi
PY=$(bash scripts/setup.sh --print-python 2>/dev/null || command -v python3)
"$PY" -m venv .venv-sam
.venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/sam.txt 2>&1 | grep -v '^WARNING: Location' || true
.venv-sam/bin/sam --version
echo "$SAM_VERSION" > .venv-sam/.installed
