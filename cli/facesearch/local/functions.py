"""Load a function's handler module the way Lambda would: from template.yaml's CodeUri + Handler.

Every function folder has an `app.py`; each is imported under a unique module name so that
several functions can live in one process (the local stack, the tests). Like Lambda, the function's
folder goes on sys.path, so its helper modules must have names unique across functions
(index_faces has `indexer`, face_api has the `faceapi` package).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from facesearch.local.template import ROOT, load_template

Handler = Callable[[dict[str, Any], Any], Any]


def function_ids(template: Mapping[str, Any] | None = None) -> list[str]:
    template = template if template is not None else load_template()
    return [lid for lid, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"]


def load_module(function_id: str, template: Mapping[str, Any] | None = None, *, fresh: bool = False) -> ModuleType:
    """Import the module behind a function (cached; `fresh=True` re-imports, e.g. after env changes)."""
    template = template if template is not None else load_template()
    props = template["Resources"][function_id]["Properties"]
    module_file, _, _ = props["Handler"].rpartition(".")
    path = ROOT / props["CodeUri"] / f"{module_file}.py"
    name = f"_fn_{function_id}_{module_file}"
    if not fresh and name in sys.modules:
        return sys.modules[name]
    code_dir = str(path.parent)
    if code_dir not in sys.path:  # as Lambda does with /var/task: the function's own modules import
        sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function_id} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_handler(function_id: str, template: Mapping[str, Any] | None = None, *, fresh: bool = False) -> Handler:
    """The callable named by the function's Handler property."""
    template = template if template is not None else load_template()
    attr = template["Resources"][function_id]["Properties"]["Handler"].rpartition(".")[2]
    handler: Handler = getattr(load_module(function_id, template, fresh=fresh), attr)
    return handler
