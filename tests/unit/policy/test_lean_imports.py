"""facepolicy.lean_imports: a package's submodules without its __init__'s eager re-exports (each case in a
fresh interpreter, since it is about what gets imported)."""

from __future__ import annotations

import json
import subprocess
import sys

PACKAGE = "aws_lambda_powertools.event_handler"

PROBE = """
import json, sys
from facepolicy.lean_imports import lazy_package
lazy = lazy_package({package!r})
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler import Response, content_types
loaded_early = sorted(m for m in sys.modules if m.startswith({package!r} + ".appsync") or m == "asyncio")
# the real __init__, run now in a namespace of its own: every name it exports is the lazy package's
spec = lazy.__spec__
namespace = {{"__name__": {package!r}, "__package__": {package!r}, "__path__": lazy.__path__}}
exec(compile(open(spec.origin).read(), spec.origin, "exec"), namespace)
different = [n for n in namespace["__all__"] if getattr(lazy, n) is not namespace[n]]
print(json.dumps({{"early": loaded_early, "different": different, "count": len(namespace["__all__"]),
                  "same_response": Response is namespace["Response"], "again": lazy_package({package!r}) is lazy}}))
"""


def _run(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_submodules_import_without_the_packages_other_resolvers_and_every_export_resolves() -> None:
    # Given the event handler package registered lazily, When its HTTP resolver is imported
    result = _run(PROBE.format(package=PACKAGE))
    # Then AppSync's resolver (and asyncio with it) is not, and every name the real __init__ exports
    # is the same object through the lazy package
    assert result["early"] == []
    assert result["different"] == [] and int(str(result["count"])) > 10
    assert result["same_response"] is True and result["again"] is True


DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"
DATA_CLASSES_PROBE = """
import json, sys
from facepolicy.lean_imports import lazy_package
lazy = lazy_package({package!r})
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
loaded_early = sorted(m for m in sys.modules if m.startswith({package!r} + "."))
spec = lazy.__spec__
namespace = {{"__name__": {package!r}, "__package__": {package!r}, "__path__": lazy.__path__}}
exec(compile(open(spec.origin).read(), spec.origin, "exec"), namespace)
different = [n for n in namespace["__all__"] if getattr(lazy, n) is not namespace[n]]
print(json.dumps({{"early": loaded_early, "different": different, "count": len(namespace["__all__"]),
                  "same": APIGatewayProxyEventV2 is namespace["APIGatewayProxyEventV2"]}}))
"""


def test_event_data_classes_import_one_by_one_and_every_export_resolves() -> None:
    # Given Powertools' data classes registered lazily (face_api's resolver needs the API Gateway ones only)
    result = _run(DATA_CLASSES_PROBE.format(package=DATA_CLASSES))
    # Then importing one class loads its module (and what it imports), not the ~30 event sources
    early = [str(m) for m in result["early"]]  # type: ignore[attr-defined]
    assert f"{DATA_CLASSES}.api_gateway_proxy_event" in early
    assert not any(m.endswith((".s3_event", ".sqs_event", ".code_pipeline_job_event", ".kafka_event")) for m in early)
    # and every name the real __init__ exports is the same object through the lazy package
    assert result["different"] == [] and int(str(result["count"])) > 20 and result["same"] is True


def test_a_package_already_imported_is_left_as_it_is() -> None:
    result = _run("import json, aws_lambda_powertools.event_handler as real\n"
                  "from facepolicy.lean_imports import lazy_package\n"
                  f"print(json.dumps({{'same': lazy_package({PACKAGE!r}) is real}}))")
    assert result["same"] is True


def test_a_module_that_is_not_a_package_is_refused() -> None:
    done = subprocess.run([sys.executable, "-c", "from facepolicy.lean_imports import lazy_package; "
                           "lazy_package('xml.dom.minidom')"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "not a package" in done.stderr
