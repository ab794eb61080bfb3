"""local_aws.deploy on a small fixture template, read back through the AWS APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_aws.deploy import deploy

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"


@pytest.fixture(scope="module")
def fixture_stack(local_stack):
    notices: list[str] = []
    stack = deploy(
        local_stack,
        FIXTURE,
        stack_name="fixture-stack",
        parameter_overrides={"IdempotencyTtlDays": 7, "LogLevel": "ALL"},
        log=notices.append,
    )
    return stack, notices


def test_queues_get_fifo_redrive_and_visibility_from_the_template(fixture_stack, local_stack):
    stack, _ = fixture_stack
    sqs = local_stack.client("sqs")
    url = stack.outputs["QueueUrl"]
    assert url.endswith(".fifo") and "/fixture-stack-MessagesQueue-" in url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["VisibilityTimeout"] == "1800"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.get_att("MessagesDeadLetterQueue", "Arn")
    assert int(redrive["maxReceiveCount"]) == 5


def test_table_keys_billing_and_ttl(fixture_stack, local_stack):
    stack, _ = fixture_stack
    ddb = local_stack.client("dynamodb")
    table = ddb.describe_table(TableName=stack.outputs["TableName"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "message_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_log_groups_with_retention(fixture_stack, local_stack):
    stack, _ = fixture_stack
    logs = local_stack.client("logs")
    name = stack.ref("EchoFunctionLogGroup")
    assert name == f"/aws/lambda/{stack.ref('EchoFunction')}"
    [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert group["retentionInDays"] == 14


def test_function_spec_comes_from_globals_and_the_function(fixture_stack):
    stack, _ = fixture_stack
    spec = stack.functions["EchoFunction"]
    assert spec.name == stack.ref("EchoFunction")
    assert spec.code_dir == FIXTURE.parent / "fn"
    assert (spec.handler, spec.memory_mb, spec.timeout_s, spec.runtime) == (
        "app.lambda_handler",
        256,
        5,
        "python3.12",
    )
    assert spec.environment == {
        "METRICS_NAMESPACE": "Fixture/Pipeline",
        "LOG_PAYLOADS": "false",
        "TABLE_NAME": stack.outputs["TableName"],
        "ONLY_IF_LOG_ALL": "yes",
    }
    assert [(layer.name, layer.content_dir) for layer in spec.layers] == [
        ("CommonLayer", FIXTURE.parent / "layer")
    ]


def test_state_machine_runs_with_substitutions_layer_and_environment(fixture_stack, local_stack):
    stack, _ = fixture_stack
    sfn = local_stack.client("stepfunctions")
    arn = stack.outputs["StateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "EXPRESS"
    assert described["loggingConfiguration"]["level"] == "ALL"
    assert described["loggingConfiguration"]["includeExecutionData"] is True
    assert "${" not in described["definition"]
    result = sfn.start_sync_execution(stateMachineArn=arn, input='[{"messageId": "m1"}]')
    assert result["status"] == "SUCCEEDED", result
    [output] = json.loads(result["output"])
    assert output["echo"] == {
        "greeting": "hello",  # imported from the layer
        "table": stack.outputs["TableName"],
        "messageId": "m1",
    }
    assert output["dlq"] == stack.outputs["DeadLetterQueueUrl"]
    assert output["ns"] == "Fixture/Pipeline"


def test_pipe_definition_and_skipped_resources(fixture_stack, local_stack):
    stack, notices = fixture_stack
    pipe = stack.pipes["MessagesPipe"]
    assert pipe.source_arn == stack.get_att("MessagesQueue", "Arn")
    assert pipe.target_arn == stack.outputs["StateMachineArn"]
    assert (pipe.batch_size, pipe.batching_window_s, pipe.invocation_type) == (
        1,
        0,
        "REQUEST_RESPONSE",
    )
    assert pipe.role_arn == stack.get_att("MessagesPipeRole", "Arn")
    described = local_stack.client("pipes").describe_pipe(Name=stack.ref("MessagesPipe"))
    assert described["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 1
    assert stack.skipped == {
        "AWS::IAM::Role": ["MessagesPipeRole"],
        "AWS::SNS::Topic": ["AlarmTopic"],
        "AWS::CloudWatch::Alarm": ["DeadLetterQueueDepthAlarm"],
    }
    skip_lines = [n for n in notices if n.startswith("skipped")]
    assert len(skip_lines) == 3  # one line per skipped type


def test_outputs_resolve_joins_selects_and_subs(fixture_stack):
    stack, _ = fixture_stack
    assert stack.outputs["Joined"] == "b|us-east-1-${Literal}"
    assert stack.outputs["PipeName"] == stack.ref("MessagesPipe")
