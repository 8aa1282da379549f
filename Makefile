# The two commands a newcomer needs: `make demo` and `make test`. Both bootstrap first.
PY := .venv/bin/python
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY = 0
# sam build needs python3.12 on PATH; pyenv's shim may not answer, so put the real one first.
PY312_DIR = $(shell dirname $$(bash scripts/setup.sh --print-python 2>/dev/null))

.PHONY: setup test lint typecheck unit functional e2e browser cfn-lint checkov validate bench load demo serve build clean

setup:
	@bash scripts/setup.sh

test: setup lint cfn-lint checkov
	@bash scripts/chromium.sh --check
	@bash scripts/setup_tool_venv.sh load
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check .
	$(PY) -m mypy

cfn-lint:
	.venv/bin/cfn-lint -- template.yaml

# checkov (pinned, own venv: its dependencies clash with ours): 0 failed checks; every skip is inline in
# template.yaml with its reason. --skip-download: offline, no platform look-ups.
checkov:
	@bash scripts/setup_tool_venv.sh checkov
	.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

unit: setup
	$(PY) -m pytest -q tests/unit

functional: setup
	$(PY) -m pytest -q tests/functional

e2e: setup
	@bash scripts/chromium.sh --check
	@bash scripts/setup_tool_venv.sh load
	$(PY) -m pytest -q tests/e2e

browser: setup
	@bash scripts/chromium.sh --check
	$(PY) -m pytest -q -m browser tests/e2e

bench: setup
	@bash scripts/setup_bench.sh
	$(PY) -m bench

# locust load, then a fault storm, on fresh local stacks (loopback, bounded); prints p50/p95 and the invariants
load: setup
	@bash scripts/setup_tool_venv.sh load
	$(PY) -m bench.load

demo: setup
	$(PY) -m facesearch.demo

serve: setup
	.venv/bin/facesearch local serve

# SAM CLI lives in its own virtual environment: it pins its own boto3.
.venv-sam/bin/sam:
	bash scripts/setup_tool_venv.sh sam

validate: setup .venv-sam/bin/sam checkov
	.venv/bin/cfn-lint -- template.yaml
	.venv-sam/bin/sam validate --region $(AWS_DEFAULT_REGION)
	.venv-sam/bin/sam validate --lint --region $(AWS_DEFAULT_REGION)

build: setup .venv-sam/bin/sam
	PATH="$(PY312_DIR):$$PATH" .venv-sam/bin/sam build --parallel

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .facesearch
