"""template.yaml's security posture: what checkov cannot see (skip reasons, log contents, KMS wiring).

`make test` runs checkov itself (0 failed checks); these tests pin down the decisions behind it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from facesearch.local.template import load_template, resources_of_type

KMS_IF = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
# Access-log variables that could carry an API key, a face image, request bodies or ids chosen by customers.
FORBIDDEN_LOG_VARIABLES = re.compile(r"\$(input|request|stageVariables)|\$context\.(path|identity\.apiKey|"
                                     r"identity\.(accessKey|cognito)|requestOverride|responseOverride)", re.I)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _skips(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(lid, skip) for lid, res in template["Resources"].items()
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])]


def test_every_checkov_skip_names_a_check_and_gives_a_one_line_reason(template: dict[str, Any]) -> None:
    skips = _skips(template)
    assert skips, "the template documents its skips inline"
    for lid, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id"))), (lid, skip)
        comment = str(skip.get("comment", ""))
        assert 20 <= len(comment) <= 120 and "\n" not in comment, (lid, skip)


def test_no_check_is_skipped_where_the_issue_asks_for_a_real_fix(template: dict[str, Any]) -> None:
    # Given the findings that are real for a store of photos and face vectors
    must_fix = {"CKV_AWS_95", "CKV_AWS_119", "CKV_AWS_27", "CKV_AWS_158"}
    # Then none of them is skipped anywhere, and access logging is skipped only on the log bucket itself
    for lid, skip in _skips(template):
        assert skip["id"] not in must_fix, (lid, skip)
        if skip["id"] == "CKV_AWS_18":
            assert lid == "AccessLogsBucket"


def test_http_api_access_log_is_json_without_keys_images_or_paths(template: dict[str, Any]) -> None:
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]}
    fmt = settings["Format"]
    fields = json.loads(fmt)  # one JSON object per line in CloudWatch Logs
    assert all(re.fullmatch(r"\$context\.[A-Za-z_.]+", v) for v in fields.values()), fields
    assert not FORBIDDEN_LOG_VARIABLES.search(fmt)
    # who, what and the outcome: enough to answer "who called which route when"
    assert {"$context.requestId", "$context.routeKey", "$context.status",
            "$context.authorizer.customer_id", "$context.identity.userArn"} <= set(fields.values())
    group = template["Resources"]["HttpApiAccessLogs"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}


def test_both_data_buckets_log_access_to_the_log_bucket_which_only_s3_logging_may_write(
        template: dict[str, Any]) -> None:
    for lid in ("UploadsBucket", "IndexBucket"):
        logging = template["Resources"][lid]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
        assert logging["LogFilePrefix"].startswith("s3/")
    statements = template["Resources"]["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert any(s["Effect"] == "Deny" and s["Sid"] == "TlsOnly" for s in statements)


def test_the_optional_kms_key_covers_tables_buckets_queues_and_the_access_log(template: dict[str, Any]) -> None:
    res = template["Resources"]
    for lid in resources_of_type(template, "AWS::DynamoDB::Table"):
        assert res[lid]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == KMS_IF, lid
    for lid in ("UploadsBucket", "IndexBucket"):
        (rule,) = res[lid]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        cond, with_key, without = rule["ServerSideEncryptionByDefault"]["Fn::If"]
        assert cond == "HasKmsKey" and with_key["KMSMasterKeyID"] == {"Ref": "KmsKeyArn"}
        assert without == {"SSEAlgorithm": "AES256"}
    for lid in resources_of_type(template, "AWS::SQS::Queue"):
        props = res[lid]["Properties"]
        assert props["KmsMasterKeyId"] == KMS_IF, lid
        # SQS-managed SSE when no key is given: encrypted either way
        assert props["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, True]}
    assert res["HttpApiAccessLogs"]["Properties"]["KmsKeyId"] == KMS_IF
    # server access logs can only be delivered to an SSE-S3 bucket
    (rule,) = res["AccessLogsBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_no_queue_uses_the_aws_managed_sqs_key_s3_cannot_use() -> None:
    from facesearch.local.template import TEMPLATE_PATH
    assert "alias/aws/sqs" not in TEMPLATE_PATH.read_text().replace("Never alias/aws/sqs", "")


def test_every_function_may_use_the_key_only_when_one_is_given(template: dict[str, Any]) -> None:
    policy = template["Resources"]["KmsKeyUsePolicy"]
    assert policy["Condition"] == "HasKmsKey"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "KmsKeyArn"}
    assert statement["Condition"]["StringEquals"]["kms:ViaService"]
    attach = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyUsePolicy"}, {"Ref": "AWS::NoValue"}]}
    for lid, res in resources_of_type(template, "AWS::Serverless::Function").items():
        if lid == "ConsoleFunction":  # static files from its own package: no AWS permission at all
            assert "Policies" not in res["Properties"]
            continue
        assert attach in res["Properties"]["Policies"], lid


def test_versioned_buckets_expire_old_versions_and_the_index_bucket_is_not_versioned(
        template: dict[str, Any]) -> None:
    # Given that erased faces must not survive in old object versions beyond a short window
    for lid, res in resources_of_type(template, "AWS::S3::Bucket").items():
        props = res["Properties"]
        if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            continue
        rules = props["LifecycleConfiguration"]["Rules"]
        days = [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if "NoncurrentVersionExpiration" in r]
        assert days, lid
    uploads = template["Resources"]["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in uploads
            if "NoncurrentVersionExpiration" in r] == [1]  # beside the optional UploadsRetentionDays rule
    # Then the index bucket (snapshots of embeddings, derived from FacesTable) keeps no old versions at all
    assert "VersioningConfiguration" not in template["Resources"]["IndexBucket"]["Properties"]


def test_indexer_concurrency_is_reserved_through_a_parameter(template: dict[str, Any]) -> None:
    props = template["Resources"]["IndexFacesFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {"Ref": "IndexerReservedConcurrency"}
    param = template["Parameters"]["IndexerReservedConcurrency"]
    assert param["MinValue"] >= 1  # 0 would stop indexing altogether
