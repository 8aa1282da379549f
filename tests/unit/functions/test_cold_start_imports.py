"""What each function imports at init and on its first request, pinned without timing anything.

Each case imports the function's app.py in a fresh interpreter, with template.yaml's environment,
as Lambda's init does, then builds what the first request builds. Cold-start timings drift with the
machine (see `make bench`, bench/cold_start.py); which modules are loaded does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from facesearch.local.template import ROOT, Names, Resolver, load_template

PROBE = """
import json, sys
import app
at_init = set(sys.modules)
{first_request}
print(json.dumps({{"init": sorted(at_init), "first": sorted(set(sys.modules))}}))
"""


def _loaded(function_id: str, folder: str, first_request: str,
            extra_env: dict[str, str] | None = None) -> tuple[set[str], set[str]]:
    template = load_template()
    resolver = Resolver(template, Names())
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    variables.update(template["Resources"][function_id]["Properties"].get("Environment", {}).get("Variables", {}))
    env = {k: str(resolver.resolve(v)) for k, v in variables.items()}
    env.update({"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": function_id, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                **(extra_env or {})})
    done = subprocess.run([sys.executable, "-c", PROBE.format(first_request=first_request)], cwd=ROOT / folder,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return set(result["init"]), set(result["first"])


def _any(modules: set[str], *names: str) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_the_authorizer_loads_no_event_handler_schema_yaml_pydantic_or_xray() -> None:
    _, first = _loaded("AuthorizerFunction", "functions/authorizer", "app.get_registry()")
    assert _any(first, "jsonschema", "yaml", "pydantic", "aws_xray_sdk", "aws_lambda_powertools.event_handler",
                "facepolicy.admin", "facepolicy.http", "facepolicy.policy") == []


def test_the_authorizer_reads_the_registry_with_botocore_alone() -> None:
    # one GetItem does not earn boto3's import, its resource models or s3transfer (facepolicy.dynamodb_reads)
    _, first = _loaded("AuthorizerFunction", "functions/authorizer", "app.get_registry()")
    assert "botocore.client" in first
    assert _any(first, "boto3", "s3transfer", "facepolicy.dynamodb") == []


LIST_CUSTOMERS_PROBE = """
import json
class Page:
    items, next_cursor = (), ""
class Admin:
    def list_customers(self, limit, cursor):
        return Page()
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "RegistryApiFunction", 512, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:RegistryApiFunction"
app.get_admin()  # the real composition, then a stand-in admin for the call (no AWS here)
app.get_admin = Admin
with open("../../events/registry_api_list_customers.json") as f:
    answer = app.lambda_handler(json.load(f), Context())
assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"customers": [], "next_cursor": None}, answer
"""


def test_registry_api_routes_without_the_event_handler_and_loads_pydantic_only_for_a_body() -> None:
    # API Gateway's routeKey names the route (admin_routes); the request models load on the first call with a body
    _, first = _loaded("RegistryApiFunction", "functions/registry_api", LIST_CUSTOMERS_PROBE)
    assert _any(first, "pydantic", "aws_lambda_powertools.event_handler", "facepolicy.admin_requests") == []
    _, with_body = _loaded("RegistryApiFunction", "functions/registry_api",
                           "import admin_routes, facepolicy.admin_requests as m; "
                           "admin_routes.Request({'body': '{\"version\": 2}'}).body_as(m.UpdateCustomerRequest)")
    assert "pydantic" in with_body


def test_registry_api_reads_the_checked_policy_and_never_loads_xray() -> None:
    # the admin checks changes against the policy; it reads the build's checked form (policy.checked.json)
    _, first = _loaded("RegistryApiFunction", "functions/registry_api", "app.get_admin()")
    assert _any(first, "jsonschema", "yaml", "aws_xray_sdk") == []


@pytest.mark.parametrize(("function_id", "folder", "first_request"), [
    ("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()"),
    ("IndexFacesFunction", "functions/index_faces", "app.get_indexer()"),
])
def test_data_path_functions_load_no_xray_where_tracing_is_off_and_no_yaml_or_schema_checker(
        function_id: str, folder: str, first_request: str) -> None:
    _, first = _loaded(function_id, folder, first_request)
    assert _any(first, "aws_xray_sdk") == []  # template.yaml: POWERTOOLS_TRACE_DISABLED
    assert _any(first, "jsonschema", "yaml") == []  # the gate reads the policy's checked form


def test_face_api_builds_its_api_document_and_swagger_ui_on_their_first_request_only() -> None:
    at_init, first = _loaded("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()")
    assert _any(first, "faceapi.contract", "aws_lambda_powertools.event_handler.openapi.swagger_ui",
                "aws_lambda_powertools.event_handler.openapi.models") == []
    assert "faceapi.docs" in at_init  # the routes are registered at init; their work waits for a request


def test_face_api_reaches_aws_with_botocore_alone() -> None:
    # low-level clients of one lean session for the store, the index and the gate (registry reads, audit
    # records, quota counters): boto3's import with s3transfer and its resource layer are not paid
    _, first = _loaded("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()")
    assert "botocore.client" in first and "facepolicy.dynamodb_audit" in first
    assert _any(first, "boto3", "s3transfer", "facepolicy.dynamodb") == []


EMPTY_METRICS_PROBE = """
import warnings
with warnings.catch_warnings(record=True) as caught:  # app's filters kept; what passes them is recorded
    app.metrics.flush_metrics()  # a request that added no metric (ListCollections)
    warnings.warn("another warning", UserWarning)
assert [str(w.message) for w in caught] == ["another warning"], [str(w.message) for w in caught]
"""


def test_face_api_flushes_an_empty_metric_set_without_a_warning() -> None:
    # most routes count nothing: no "No application metrics to publish" line per container (nor its formatting
    # on the first request); other warnings still show
    _loaded("FaceApiFunction", "functions/face_api", EMPTY_METRICS_PROBE)


S3_LAZY_PROBE = """
from facepolicy import env
made, session = [], env.lean_session()
create = session.create_client
session.create_client = lambda service, *args, **kwargs: (made.append(service), create(service, *args, **kwargs))[1]
import faceapi.deps
d = faceapi.deps.get_deps()
assert made == ["dynamodb"] and not d.s3.built, made
assert d.s3.meta.service_model.service_name == "s3" and d.s3.built and made == ["dynamodb", "s3"], made
assert d.index.exact._snapshots._s3.client() is d.s3.client()  # the vector index's snapshots: the same client
"""


def test_face_api_builds_its_s3_client_on_first_use() -> None:
    # a container whose first requests never touch S3 (ListCollections, DescribeCollection, ...) does not pay
    # the S3 model and endpoint rules at init; the first upload, search or snapshot load builds it, once
    _loaded("FaceApiFunction", "functions/face_api", S3_LAZY_PROBE)


def test_index_faces_reaches_aws_with_botocore_alone() -> None:
    # the store, the vector index, the gate and the uploads bucket on low-level clients of one lean session
    _, first = _loaded("IndexFacesFunction", "functions/index_faces", "app.get_indexer()")
    assert "botocore.client" in first and "facepolicy.dynamodb_audit" in first
    assert _any(first, "boto3", "s3transfer", "facepolicy.dynamodb") == []


def test_face_api_imports_powertools_http_resolver_without_the_other_resolvers() -> None:
    # facepolicy.lean_imports: the event handler package's __init__ (AppSync, Bedrock, VPC Lattice, ... and
    # asyncio) is not run; its names import on first use
    _, first = _loaded("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()")
    assert "aws_lambda_powertools.event_handler.api_gateway" in first
    assert _any(first, "asyncio", "aws_lambda_powertools.event_handler.appsync",
                "aws_lambda_powertools.event_handler.bedrock_agent",
                "aws_lambda_powertools.event_handler.vpc_lattice") == []
    # nor every event source's data classes (S3, SQS, Kafka, CodePipeline with tempfile, ...): the resolver's only
    data_classes = "aws_lambda_powertools.utilities.data_classes"
    assert f"{data_classes}.api_gateway_proxy_event" in first
    assert _any(first, f"{data_classes}.s3_event", f"{data_classes}.sqs_event", f"{data_classes}.kafka_event",
                f"{data_classes}.code_pipeline_job_event") == []


def test_erase_customer_loads_no_xray_where_tracing_is_off() -> None:
    _, first = _loaded("EraseCustomerFunction", "functions/erase_customer", "app.get_eraser()")
    assert _any(first, "aws_xray_sdk") == []


def test_index_faces_never_imports_the_event_handler_for_wiring() -> None:
    _, first = _loaded("IndexFacesFunction", "functions/index_faces", "app.get_indexer()")
    assert _any(first, "aws_lambda_powertools.event_handler") == []


BAD_BATCH_PROBE = """
from s3_notifications import MalformedMessage
class Indexer:
    def process_message(self, body, request_id):
        raise MalformedMessage(body)
    def flush_snapshots(self):
        pass
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "IndexFacesFunction", 1024, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IndexFacesFunction"
app.get_indexer = Indexer
answer = app.lambda_handler({"Records": [{"messageId": "m1", "body": "not json"}]}, Context())
assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}, answer
"""


def test_index_faces_answers_its_batches_without_powertools_batch_utility() -> None:
    # sqs_batch's loop gives the partial batch response (the utility imports asyncio and every event source's
    # data classes); a batch with a bad message is answered here, so the first call's imports count too
    _, first = _loaded("IndexFacesFunction", "functions/index_faces", BAD_BATCH_PROBE)
    assert _any(first, "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.data_classes",
                "asyncio") == []


@pytest.mark.parametrize(("function_id", "folder", "first_request"), [
    ("RegistryApiFunction", "functions/registry_api", "app.get_admin()"),
    ("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()"),
    ("IndexFacesFunction", "functions/index_faces", "app.get_indexer()"),
])
def test_clients_are_built_without_botocore_scanning_every_service_folder(function_id: str, folder: str,
                                                                          first_request: str) -> None:
    probe = (f"{first_request}; import sys; from facepolicy import env; "  # botocore's clients and boto3's
             "boto3 = sys.modules.get('boto3'); sessions = [env.lean_session()] + ("
             "[boto3.DEFAULT_SESSION._session] if boto3 and boto3.DEFAULT_SESSION else []); "
             "lists = [n for s in sessions for n in s.get_component('data_loader')._lists.values()]; "
             "assert lists and all(names._names is None for names in lists), 'listed every service'")
    _loaded(function_id, folder, probe)


def test_face_api_builds_its_request_and_response_validators_on_first_use() -> None:
    # pydantic's defer_build: ~60 models, of which a container's first request needs a few
    probe = ("import pydantic, faceapi.models as m, faceapi.account, faceapi.photos; "
             "models = [c for mod in (m, faceapi.account, faceapi.photos) for c in vars(mod).values() "
             "if isinstance(c, type) and issubclass(c, pydantic.BaseModel) and c.__module__ == mod.__name__]; "
             "assert len(models) > 30 and all(c.model_config.get('defer_build') for c in models), models; "
             "built = [c.__name__ for c in models if c.__pydantic_complete__]; assert built == [], built; "
             "m.CreateCollectionRequest.model_validate({'collection_id': 'c1'}); "
             "assert m.CreateCollectionRequest.__pydantic_complete__")
    _loaded("FaceApiFunction", "functions/face_api", probe)


GC_PROBE = """
import gc
frozen_at_init, enabled_at_init = gc.get_freeze_count(), gc.isenabled()
{first_request}
assert enabled_at_init and gc.isenabled(), "collection resumed"
frozen_after = gc.get_freeze_count()
assert {frozen} (frozen_at_init > 10000 and frozen_after > frozen_at_init), (frozen_at_init, frozen_after)
"""


@pytest.mark.parametrize(("function_id", "folder", "first_request"), [
    ("AuthorizerFunction", "functions/authorizer", "app.get_registry()"),
    ("RegistryApiFunction", "functions/registry_api", "app.get_admin()"),
    ("FaceApiFunction", "functions/face_api", "import faceapi.deps; faceapi.deps.get_deps()"),
    ("IndexFacesFunction", "functions/index_faces", "app.get_indexer()"),
])
@pytest.mark.parametrize("in_lambda", [True, False])
def test_init_is_frozen_out_of_garbage_collection_in_lambda_only(function_id: str, folder: str, first_request: str,
                                                                  in_lambda: bool) -> None:
    # In Lambda (AWS_EXECUTION_ENV) the module's objects and then the composition's are frozen, and collection
    # runs again after each; elsewhere (tests, the local stack) nothing is frozen
    env = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"} if in_lambda else {}
    probe = GC_PROBE.format(first_request=first_request, frozen="" if in_lambda else "not")
    _loaded(function_id, folder, probe, env)
