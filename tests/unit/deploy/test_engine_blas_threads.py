"""The functions that load the face engine import numpy without an OpenBLAS thread pool (template.yaml)."""

from __future__ import annotations

import os
import subprocess
import sys

from facesearch.local.template import Names, Resolver, load_template

PROBE = """
import ctypes, glob, os
import numpy
libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs", "libscipy_openblas*.so"))
print(ctypes.CDLL(libs[0]).scipy_openblas_get_num_threads64_())
"""


def _engine_functions() -> dict[str, dict[str, str]]:
    """Each function that has the engine layer, with its resolved environment (Globals + its own)."""
    template = load_template()
    resolver = Resolver(template, Names())
    found = {}
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Serverless::Function" or \
                {"Ref": "EngineLayer"} not in properties.get("Layers", []):
            continue
        variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
        variables.update(properties.get("Environment", {}).get("Variables", {}))
        found[name] = {k: str(resolver.resolve(v)) for k, v in variables.items()}
    return found


def test_engine_functions_run_numpys_blas_on_one_thread() -> None:
    functions = _engine_functions()
    assert {"FaceApiFunction", "IndexFacesFunction"} <= set(functions)
    for name, env in functions.items():
        assert env.get("OPENBLAS_NUM_THREADS") == "1", name
        # and numpy's OpenBLAS, started in that environment, runs one thread (not one per core)
        done = subprocess.run([sys.executable, "-c", PROBE], env={"PATH": os.environ.get("PATH", ""), **env},
                              capture_output=True, text=True, timeout=120, check=True)
        assert done.stdout.strip() == "1", name
