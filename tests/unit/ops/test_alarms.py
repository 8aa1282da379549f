"""The alarms in template.yaml watch the metrics the code really emits, and reach the alarm topic."""

from __future__ import annotations

from typing import Any

import pytest

from facepolicy import ReasonCode
from facepolicy.gate import deny_metric_name
from facesearch.local.template import load_template

ALARMS = ("DeadLetterAlarm", "OldestUploadAlarm", "Http5xxAlarm", "PolicyUnavailableAlarm")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_every_alarm_notifies_the_topic_both_ways(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in ALARMS:
        props = resources[name]["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["TreatMissingData"] == "notBreaching", name
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


def test_the_email_subscription_exists_only_with_an_address(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_policy_alarm_watches_the_gates_own_metric(template: dict[str, Any]) -> None:
    props = template["Resources"]["PolicyUnavailableAlarm"]["Properties"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert props["MetricName"] == deny_metric_name(ReasonCode.POLICY_UNAVAILABLE)
    assert props["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    assert props["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]


def test_the_queue_alarms_watch_the_right_queues(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    dlq = resources["DeadLetterAlarm"]["Properties"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IndexDeadLetterQueue", "QueueName"]}}]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible" and dlq["Threshold"] == 0
    oldest = resources["OldestUploadAlarm"]["Properties"]
    assert oldest["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IndexQueue", "QueueName"]}}]
    assert oldest["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert oldest["Threshold"] == {"Ref": "OldestUploadAlarmSeconds"}


def test_the_5xx_alarm_is_a_rate_of_the_apis_stage(template: dict[str, Any]) -> None:
    metrics = {m["Id"]: m for m in template["Resources"]["Http5xxAlarm"]["Properties"]["Metrics"]}
    for metric_id, name in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[metric_id]["MetricStat"]["Metric"]
        assert stat["Namespace"] == "AWS/ApiGateway" and stat["MetricName"] == name
        assert stat["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}},
                                      {"Name": "Stage", "Value": {"Ref": "Stage"}}]
    assert metrics["rate"]["ReturnData"] is True and "errors / requests" in metrics["rate"]["Expression"]


def test_uploads_retention_is_a_conditional_lifecycle_rule(template: dict[str, Any]) -> None:
    rules = template["Resources"]["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    conditional = [r for r in rules if isinstance(r, dict) and "Fn::If" in r]
    assert len(conditional) == 1
    condition, rule, otherwise = conditional[0]["Fn::If"]
    assert condition == "HasUploadsRetention" and otherwise == {"Ref": "AWS::NoValue"}
    assert rule["Prefix"] == "uploads/" and rule["ExpirationInDays"] == {"Ref": "UploadsRetentionDays"}
    assert template["Parameters"]["UploadsRetentionDays"]["Default"] == 0
