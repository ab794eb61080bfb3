"""StartSyncExecution (which moto does not route) and Express executions on moto's interpreter."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/local"
ECHO = "arn:aws:lambda:us-east-1:123456789012:function:echo"
RAISER = "arn:aws:lambda:us-east-1:123456789012:function:raiser"

DEFINITION = {
    "StartAt": "Echo",
    "States": {
        "Echo": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": ECHO, "Payload.$": "$"},
            "ResultSelector": {"function.$": "$.Payload.function_name"},
            "ResultPath": "$.echo",
            "Next": "ShouldFail",
        },
        "ShouldFail": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Raise"}],
            "Default": "Done",
        },
        "Raise": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": RAISER, "Payload.$": "$"},
            "End": True,
        },
        "Done": {"Type": "Succeed"},
    },
}

SDK_DEFINITION = {
    "StartAt": "PutMetric",
    "States": {
        "PutMetric": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
            "Parameters": {
                "Namespace": "SyncTest",
                "MetricData": [{"MetricName": "Errors", "Value": 1, "Unit": "Count"}],
            },
            "End": True,
        }
    },
}


def create(stack, definition, kind="EXPRESS"):
    return stack.client("stepfunctions").create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=ROLE,
        type=kind,
    )["stateMachineArn"]


@pytest.fixture(scope="module")
def machine(stack):
    return create(stack, DEFINITION)


def state_path(sfn, execution_arn):
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def test_sync_execution_succeeds_with_output(stack, machine):
    sfn = stack.client("stepfunctions")
    result = sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({"fail": False}))
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"fail": False, "echo": {"function": "echo"}}
    assert result["stateMachineArn"] == machine
    assert result["stopDate"] >= result["startDate"]
    assert result["billingDetails"]["billedDurationInMilliseconds"] >= 100
    assert "traceHeader" not in result  # AWS echoes a trace header only when one was sent
    assert state_path(sfn, result["executionArn"]) == ["Echo", "ShouldFail", "Done"]
    described = sfn.describe_execution(executionArn=result["executionArn"])
    assert described["status"] == "SUCCEEDED" and described["name"] == result["name"]


def test_sync_execution_fails_with_the_lambda_error(stack, machine):
    sfn = stack.client("stepfunctions")
    result = sfn.start_sync_execution(
        stateMachineArn=machine, name="failing-run", input=json.dumps({"fail": True, "id": "m-9"})
    )
    assert result["status"] == "FAILED"
    assert result["error"] == "DynamoDBSaveError"
    assert json.loads(result["cause"])["errorMessage"] == "could not save m-9"
    assert "output" not in result
    assert state_path(sfn, result["executionArn"]) == ["Echo", "ShouldFail", "Raise"]
    # names are unique per state machine
    with pytest.raises(ClientError) as caught:
        sfn.start_sync_execution(stateMachineArn=machine, name="failing-run", input="{}")
    assert caught.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_sync_execution_errors(stack):
    sfn = stack.client("stepfunctions")
    standard = create(
        stack, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "STANDARD"
    )
    with pytest.raises(ClientError) as caught:
        sfn.start_sync_execution(stateMachineArn=standard, input="{}")
    assert caught.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
    missing = standard.replace(":stateMachine:sm-", ":stateMachine:missing-")
    with pytest.raises(ClientError) as caught:
        sfn.start_sync_execution(stateMachineArn=missing, input="{}")
    assert caught.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_express_start_execution_keeps_history(stack, machine):
    sfn = stack.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"fail": False}))
    # the front signals termination: waiting needs no polling
    assert stack.stepfunctions.wait(started["executionArn"], timeout=10) == "SUCCEEDED"
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert state_path(sfn, started["executionArn"]) == ["Echo", "ShouldFail", "Done"]
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert started["executionArn"] in [e["executionArn"] for e in listed]


def test_interpreter_sdk_calls_get_injected_faults(stack, faults):
    sfn = stack.client("stepfunctions")
    queue_url = stack.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    definition = json.loads(json.dumps(SDK_DEFINITION))
    definition["States"]["PutMetric"].pop("End")
    definition["States"]["PutMetric"]["Next"] = "Send"
    definition["States"]["Send"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": "quarantined"},
        "End": True,
    }
    machine = create(stack, definition)
    assert sfn.start_sync_execution(stateMachineArn=machine, input="{}")["status"] == "SUCCEEDED"

    rule = faults.add("cloudwatch", "PutMetricData", "InternalServiceFault", count=1)
    failed = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert rule.injected == 1 and failed["status"] == "FAILED"
    # moto's interpreter names aws-sdk errors <service>.<ErrorShape>Exception
    assert failed["error"] == "cloudwatch.InternalServiceFaultException"

    rule = faults.add("sqs", "SendMessage", "RequestThrottled", count=1)
    failed = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert rule.injected == 1 and failed["status"] == "FAILED"
    # ... and optimised-SQS service errors SQS.AmazonSQSException, as AWS does
    assert failed["error"] == "SQS.AmazonSQSException"
    assert "Error Code: RequestThrottled" in failed["cause"]


def test_interpreter_lambda_invoke_gets_lambda_faults(stack, machine, faults):
    sfn = stack.client("stepfunctions")
    faults.add("lambda", kind="timeout", function="echo", count=1)
    result = sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({"fail": False}))
    assert result["status"] == "FAILED"
    assert result["error"] == "Sandbox.Timedout"


def test_lambdas_join_the_execution_trace(stack, machine):
    sfn = stack.client("stepfunctions")
    root = f"1-5759e988-{uuid.uuid4().hex[:24]}"
    result = sfn.start_sync_execution(
        stateMachineArn=machine,
        input=json.dumps({"fail": True, "id": "traced"}),
        traceHeader=f"Root={root};Sampled=1",
    )
    assert result["traceHeader"] == f"Root={root};Sampled=1"
    traced = [r for r in stack.lambdas.invocations if r.trace_id.startswith(f"Root={root};")]
    assert [r.function for r in traced] == ["echo", "raiser"]
