"""The metrics a run reader charts are its own stack's, when other stacks on the same endpoint
publish the same metric names in other namespaces (`make up` beside a chaos run; a test session's
several stacks)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pipeline_tools.runs.reader import RunReader

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/machine"


def _definition(namespace: str) -> str:
    """A Map whose item processor records a metric, as the pipeline's Catch branches do."""
    record = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
        "Parameters": {
            "Namespace": namespace,
            "MetricData": [{"MetricName": "DynamoDBSaveError", "Value": 1, "Unit": "Count"}],
        },
        "End": True,
    }
    return json.dumps(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "Record", "States": {"Record": record}},
                    "End": True,
                }
            },
        }
    )


@pytest.fixture
def aws():
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _put(cloudwatch, namespace: str, name: str, value: float) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": name, "Value": value, "Unit": "Count"}]
    )


def test_the_namespace_comes_from_the_readers_state_machine(aws):
    cloudwatch = aws("cloudwatch")
    # another stack published first: ListMetrics alone would answer its namespace
    _put(cloudwatch, "OtherStack", "InvalidMessages", 11)
    _put(cloudwatch, "OtherStack", "DynamoDBSaveError", 0)
    _put(cloudwatch, "ThisStack", "DynamoDBSaveError", 1)
    arn = aws("stepfunctions").create_state_machine(
        name="this-stack", definition=_definition("ThisStack"), roleArn=ROLE
    )["stateMachineArn"]

    series = RunReader(aws, state_machine_arn=arn).metric_series(minutes=15)

    assert series["namespace"] == "ThisStack"
    assert series["totals"]["DynamoDBSaveError"] == 1
    assert series["totals"]["InvalidMessages"] == 0


def test_without_a_state_machine_the_namespace_holding_the_metrics_is_used(aws):
    _put(aws("cloudwatch"), "OnlyStack", "MessagesSaved", 2)

    series = RunReader(aws).metric_series(minutes=15)

    assert (series["namespace"], series["totals"]["MessagesSaved"]) == ("OnlyStack", 2)
