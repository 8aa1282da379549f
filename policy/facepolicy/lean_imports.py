"""Import a package's submodules without running its `__init__`'s eager re-exports.

Powertools' `aws_lambda_powertools.event_handler/__init__.py` imports every resolver it offers (AppSync,
AppSync events, Bedrock agents, VPC Lattice, Function URLs, the local HTTP server) to re-export their names,
and with them asyncio: ~0.04-0.07 s of a cold start for an HTTP API that uses one resolver. Python runs a
package's `__init__` before any of its submodules, so `lazy_package` registers the package first as an
uninitialised module (its `__path__` from the import system's own spec) whose names are imported on first
access, from the modules the real `__init__` names (read from its source with `ast`, so a new Powertools
release cannot drift from it). Submodules import exactly as before; `from package import Name` imports
Name's module only.

    lazy_package("aws_lambda_powertools.event_handler")   # first thing in a function's app.py

A package already imported is left as it is (tests, the local stack): then this is a no-op.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any


def _re_exports(origin: str, package: str) -> dict[str, str]:
    """name -> module of each `from module import name` at the top level of a package's `__init__`."""
    with open(origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), origin)
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.util.resolve_name("." * node.level + node.module, package) if node.level \
                else node.module
            found.update({alias.asname or alias.name: module for alias in node.names if alias.name != "*"})
    return found


class _LazyPackage(ModuleType):
    """A lazily registered package: the import system's binding of a submodule onto it is skipped where the real
    `__init__` binds the same name to something else (the export, then imported on first access)."""

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in self.__dict__.get("_shadowed", ()) and isinstance(value, ModuleType):
            return
        super().__setattr__(attr, value)


def lazy_package(name: str) -> ModuleType:
    """The package `name`, registered without running its `__init__`; its re-exported names import lazily."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not a package with an __init__")
    module = importlib.util.module_from_spec(spec)
    exports = _re_exports(spec.origin, name)
    module.__class__ = _LazyPackage
    # a name re-exported from a submodule of the same name (data_classes' `event_source` function from its
    # `event_source` module): the real __init__ rebinds it after the import system set the submodule there
    module.__dict__["_shadowed"] = frozenset(attr for attr, source in exports.items() if source == f"{name}.{attr}")

    def __getattr__(attr: str) -> Any:  # PEP 562: only for names not set yet
        source = exports.get(attr)
        if source is None:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(source), attr)
        setattr(module, attr, value)
        return value

    module.__dict__.update(__getattr__=__getattr__, __all__=list(exports))
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, module)
    return module
