"""Every function and our own layers ship their bytecode: a makefile build through layers/bytecode.mk.

Lambda mounts the code read-only, so what ships without __pycache__ is compiled from source on every cold
start; SAM's python3.12 builder ships none. `sam build` itself is too slow for the suite (it was run by hand
for each function: every .py with its .pyc); this pins that the template and the Makefiles ask for it.
"""

from __future__ import annotations

import pytest

from facesearch.local.template import ROOT, load_template

TEMPLATE = load_template()
FUNCTIONS = sorted(lid for lid, res in TEMPLATE["Resources"].items() if res["Type"] == "AWS::Serverless::Function")


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_builds_with_its_bytecode(function_id: str) -> None:
    resource = TEMPLATE["Resources"][function_id]
    assert resource.get("Metadata", {}).get("BuildMethod") == "makefile", function_id
    makefile = (ROOT / resource["Properties"]["CodeUri"] / "Makefile").read_text()
    assert "layers/bytecode.mk" in makefile
    assert f"build-{function_id}:" in makefile and "$(call with_bytecode," in makefile
