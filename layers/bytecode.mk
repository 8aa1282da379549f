# Included by the Makefiles of the layers and of the functions whose cold start counts (sam build, BuildMethod:
# makefile; sam runs them from a scratch copy of their folder, so they find this file through their own path in
# MAKEFILE_LIST).
# Lambda mounts layers read-only: without __pycache__ every cold start compiles what it imports anew, and
# SAM's python3.12 builder ships no bytecode. unchecked-hash: the files are immutable, and a zip's 2-second
# mtimes would fail timestamp checks. Only Python 3.12 writes bytecode Lambda's python3.12 reads.
PY := $(shell command -v python3.12 || command -v python3)
OUT = $(ARTIFACTS_DIR)/python

# $(call with_bytecode,FILES,DEST): copy FILES (a package, modules) into DEST and compile what DEST holds.
# A layer's DEST is $(OUT) (python/, as the python3.12 builder lays a layer out); a function's, ARTIFACTS_DIR.
define with_bytecode
	$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12) and "Python 3.12 is needed (Lambda python3.12 bytecode)")'
	mkdir -p "$(2)"
	cp -r $(1) "$(2)/"
	find "$(2)" -type d -name __pycache__ -prune -exec rm -rf {} +
	$(PY) -m compileall -q -f -j 0 --invalidation-mode unchecked-hash "$(2)" >/dev/null
endef
