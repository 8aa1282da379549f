"""Read template.yaml and create its tables, buckets and queues in a (moto) AWS account.

The local stack and the tests provision from the deployment's own definitions, so the schema the
tests run against cannot drift from the one that is deployed. Only the intrinsic functions the
template uses for these resources are resolved (!Ref, !GetAtt X.Arn, !Sub); anything else is an
error rather than a silent guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse template.yaml (CloudFormation tags included) into plain data."""
    with path.open() as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return data


@dataclass
class Names:
    """Physical names chosen for the template's resources in one local account."""

    prefix: str = "facesearch-local"
    region: str = "us-east-1"
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> name/url

    def name_for(self, logical_id: str) -> str:
        return self.physical.setdefault(logical_id, f"{self.prefix}-{logical_id}".lower())


def resources_of_type(template: Mapping[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == cfn_type}


class Resolver:
    """Resolves the intrinsic functions the template's storage resources use."""

    def __init__(self, template: Mapping[str, Any], names: Names) -> None:
        self.template = template
        self.names = names

    def arn(self, logical_id: str) -> str:
        res = self.template["Resources"][logical_id]
        kind = res["Type"]
        name = self.physical(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.names.region}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.names.region}:{ACCOUNT_ID}:table/{name}"
        raise ValueError(f"no ARN rule for {logical_id} ({kind})")

    def physical(self, logical_id: str) -> str:
        res = self.template["Resources"][logical_id]
        props = res.get("Properties", {})
        explicit = props.get("BucketName") or props.get("TableName") or props.get("QueueName")
        if explicit is not None and logical_id not in self.names.physical:
            self.names.physical[logical_id] = self.resolve(explicit).lower()
        return self.names.name_for(logical_id)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg
                if attribute == "Arn":
                    return self.arn(logical_id)
                raise ValueError(f"unsupported !GetAtt {logical_id}.{attribute}")
            if key == "Fn::Sub":
                return self._sub(arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": self.names.region, "AWS::Partition": "aws",
                  "AWS::StackName": self.names.prefix, "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        params = self.template.get("Parameters", {})
        if name in params:
            return str(self.names.parameters.get(name, params[name].get("Default", "")))
        if name in self.template.get("Resources", {}):
            return self.physical(name)
        raise ValueError(f"unresolvable !Ref {name}")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                return str(self.resolve({"Fn::GetAtt": [logical_id, attribute]}))
            return self._ref(token)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def table_spec(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """create_table keyword arguments (minus TableName) from the template's table definition."""
    props = template["Resources"][logical_id]["Properties"]
    spec: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        spec["GlobalSecondaryIndexes"] = [
            {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
            for gsi in props["GlobalSecondaryIndexes"]
        ]
    if "VectorIndexes" in props:  # moto stores and ignores them; facesearch.local.search_vectors serves them
        spec["VectorIndexes"] = [dict(v) for v in props["VectorIndexes"]]
    return spec


def create_table(dynamodb_client: Any, template: Mapping[str, Any], logical_id: str, table_name: str) -> str:
    """Create one table exactly as the template defines it (keys, GSIs, TTL); returns its name."""
    dynamodb_client.create_table(TableName=table_name, **table_spec(template, logical_id))
    ttl = template["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb_client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    return table_name


@dataclass(frozen=True)
class Provisioned:
    """Physical names of what was created: logical id -> table/bucket name or queue URL."""

    tables: dict[str, str]
    buckets: dict[str, str]
    queues: dict[str, str]
    queue_arns: dict[str, str]

    def env(self, template: Mapping[str, Any], function_id: str, names: Names) -> dict[str, str]:
        """The function's environment variables (Globals + its own), resolved to local names."""
        resolver = Resolver(template, names)
        variables: dict[str, Any] = {}
        glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        own = template["Resources"][function_id]["Properties"].get("Environment", {}).get("Variables", {})
        variables.update(glob)
        variables.update(own)
        return {k: str(resolver.resolve(v)) for k, v in variables.items()}


def provision(session: Any, template: Mapping[str, Any] | None = None, names: Names | None = None) -> Provisioned:
    """Create every table, queue (with redrive) and bucket (versioning, notifications) of the template.

    `session` is a boto3 Session (or anything with `.client(name)`) pointed at moto.
    """
    template = template if template is not None else load_template()
    names = names or Names()
    resolver = Resolver(template, names)
    ddb, sqs, s3 = session.client("dynamodb"), session.client("sqs"), session.client("s3")

    tables = {lid: create_table(ddb, template, lid, resolver.physical(lid))
              for lid in resources_of_type(template, "AWS::DynamoDB::Table")}

    queues: dict[str, str] = {}
    queue_arns: dict[str, str] = {}
    pending = dict(resources_of_type(template, "AWS::SQS::Queue"))
    while pending:  # dead-letter queues first: a redrive policy needs its target's ARN
        for lid, res in list(pending.items()):
            props = res.get("Properties", {})
            redrive = props.get("RedrivePolicy")
            if redrive and _logical_of(redrive["deadLetterTargetArn"]) in pending:
                continue
            attributes = {}
            if "VisibilityTimeout" in props:
                attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
            if "MessageRetentionPeriod" in props:
                attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
            if redrive:
                attributes["RedrivePolicy"] = json.dumps({
                    "deadLetterTargetArn": resolver.resolve(redrive["deadLetterTargetArn"]),
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                })
            url = sqs.create_queue(QueueName=resolver.physical(lid), Attributes=attributes)["QueueUrl"]
            queues[lid] = url
            queue_arns[lid] = resolver.arn(lid)
            del pending[lid]

    buckets: dict[str, str] = {}
    for lid, res in resources_of_type(template, "AWS::S3::Bucket").items():
        props = res.get("Properties", {})
        name = resolver.physical(lid)
        create_bucket(s3, resolver, props, name)
        notifications = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if notifications:
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
                "QueueConfigurations": [_queue_notification(resolver, n) for n in notifications],
            })
        buckets[lid] = name
    return Provisioned(tables=tables, buckets=buckets, queues=queues, queue_arns=queue_arns)


def create_bucket(s3: Any, resolver: Resolver, props: Mapping[str, Any], name: str) -> str:
    """Create one bucket as the template defines it: region, versioning, Object Lock and its default retention."""
    kwargs: dict[str, Any] = {"Bucket": name}
    if resolver.names.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": resolver.names.region}
    if props.get("ObjectLockEnabled"):
        kwargs["ObjectLockEnabledForBucket"] = True  # versioning comes with it
    s3.create_bucket(**kwargs)
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    lock = props.get("ObjectLockConfiguration")
    if lock:
        config: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
        retention = resolver.resolve(lock.get("Rule", {}).get("DefaultRetention"))
        if retention:
            config["Rule"] = {"DefaultRetention": {k: int(v) if k in ("Days", "Years") else str(v)
                                                   for k, v in retention.items()}}
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=config)
    return name


def _logical_of(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def _queue_notification(resolver: Resolver, spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"QueueArn": resolver.resolve(spec["Queue"]), "Events": [spec["Event"]]}
    rules = spec.get("Filter", {}).get("S3Key", {}).get("Rules")
    if rules:
        out["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
    return out
