"""template.yaml is the single source of the local stack's and the tests' resources."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from facesearch.local.functions import function_ids, load_module
from facesearch.local.template import Names, Resolver, load_template, provision, table_spec


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_cfn_tags_become_long_form(template: dict) -> None:
    bucket_policy = template["Resources"]["UploadsBucketPolicy"]["Properties"]
    assert bucket_policy["Bucket"] == {"Ref": "UploadsBucket"}
    resources = bucket_policy["PolicyDocument"]["Statement"][0]["Resource"]
    assert resources[0] == {"Fn::GetAtt": ["UploadsBucket", "Arn"]}
    assert resources[1] == {"Fn::Sub": "${UploadsBucket.Arn}/*"}


def test_resolver_handles_sub_ref_getatt_and_parameters(template: dict) -> None:
    resolver = Resolver(template, Names(parameters={"Stage": "dev"}))
    assert resolver.resolve({"Fn::Sub": "${UploadsBucket.Arn}/*"}) == (
        "arn:aws:s3:::facesearch-dev-uploads-123456789012-us-east-1/*")
    assert resolver.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    with pytest.raises(ValueError, match="unresolvable"):
        resolver.resolve({"Ref": "NoSuchThing"})


def test_table_spec_is_taken_from_the_template(template: dict) -> None:
    spec = table_spec(template, "FacesTable")
    assert [k["AttributeName"] for k in spec["KeySchema"]] == ["pk", "sk"]
    assert spec["GlobalSecondaryIndexes"][0]["IndexName"] == "gsi1"


def test_provision_creates_everything_and_wires_uploads_to_the_queue(template: dict) -> None:
    with mock_aws():
        # Given a moto account provisioned from template.yaml
        session = boto3.Session(region_name="us-east-1")
        made = provision(session, template, Names())
        ddb, s3, sqs = session.client("dynamodb"), session.client("s3"), session.client("sqs")
        # Then every table exists with TTL where the template asks for it
        assert set(made.tables) == {"RegistryTable", "AuditTable", "FacesTable", "QuotaCountersTable"}
        ttl = ddb.describe_time_to_live(TableName=made.tables["AuditTable"])["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"
        # and the uploads bucket is versioned and its redrive policy points at the DLQ
        uploads = made.buckets["UploadsBucket"]
        assert s3.get_bucket_versioning(Bucket=uploads)["Status"] == "Enabled"
        attrs = sqs.get_queue_attributes(QueueUrl=made.queues["IndexQueue"], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == made.queue_arns["IndexDeadLetterQueue"]
        assert int(redrive["maxReceiveCount"]) == 5
        # When an object lands under uploads/
        s3.put_object(Bucket=uploads, Key="uploads/c1/col/a b.jpg", Body=b"x")
        # Then the queue receives an ObjectCreated record for it
        messages = sqs.receive_message(QueueUrl=made.queues["IndexQueue"], MaxNumberOfMessages=10)["Messages"]
        records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
        assert [unquote_plus(r["s3"]["object"]["key"]) for r in records] == ["uploads/c1/col/a b.jpg"]


def test_function_env_is_resolved_to_local_names(template: dict) -> None:
    with mock_aws():
        names = Names()
        made = provision(boto3.Session(region_name="us-east-1"), template, names)
        env = made.env(template, "IndexFacesFunction", names)
    assert env["FACES_TABLE"] == made.tables["FacesTable"]
    assert env["UPLOADS_BUCKET"] == made.buckets["UploadsBucket"]
    assert env["POLICY_CACHE_SECONDS"] == "30"


def test_every_function_names_an_existing_handler_module(template: dict) -> None:
    ids = function_ids(template)
    assert {"AuthorizerFunction", "FaceApiFunction", "RegistryApiFunction", "IndexFacesFunction"} <= set(ids)
    for function_id in ids:
        handler = template["Resources"][function_id]["Properties"]["Handler"]
        module = load_module(function_id, template)
        assert callable(getattr(module, handler.rpartition(".")[2]))
