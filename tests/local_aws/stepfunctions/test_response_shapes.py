"""Step Functions responses shaped as AWS answers them (API reference: StartSyncExecution,
DescribeExecution, the context object; the service integrations' results and errors as AWS
records them in execution histories)."""

from __future__ import annotations

import json
import re
import uuid

import pytest

CONTEXT_TIMES = {
    "StartAt": "Times",
    "States": {
        "Times": {
            "Type": "Pass",
            "Parameters": {
                "start.$": "$$.Execution.StartTime",
                "entered.$": "$$.State.EnteredTime",
                "redrives.$": "$$.Execution.RedriveCount",
            },
            "End": True,
        }
    },
}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
# AWS writes context-object timestamps as ISO 8601 in UTC with milliseconds, e.g.
# 2019-03-26T20:14:13.192Z (developer guide, "Accessing the Context object").
AWS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_sync_output_with_context_timestamps_is_serialised(create_machine, sfn):
    result = sfn.start_sync_execution(stateMachineArn=create_machine(CONTEXT_TIMES), input="{}")
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert AWS_TIMESTAMP.match(output["start"]), output
    assert AWS_TIMESTAMP.match(output["entered"]), output
    assert output["redrives"] == 0


def test_express_execution_arns_have_the_express_form(create_machine, sfn, stack):
    machine = create_machine(PASS)
    machine_name = machine.rsplit(":", 1)[1]
    result = sfn.start_sync_execution(stateMachineArn=machine, name="run-1", input="{}")
    prefix = f"arn:aws:states:{stack.region}:{stack.account_id}:express:{machine_name}:run-1:"
    assert result["executionArn"].startswith(prefix)
    assert uuid.UUID(result["executionArn"].removeprefix(prefix))
    started = sfn.start_execution(stateMachineArn=machine, name="run-2", input="{}")
    assert started["executionArn"].startswith(prefix.replace("run-1", "run-2"))
    standard = create_machine(PASS, kind="STANDARD")
    started = sfn.start_execution(stateMachineArn=standard, name="run-3", input="{}")
    assert started["executionArn"] == standard.replace(":stateMachine:", ":execution:") + ":run-3"


@pytest.mark.parametrize("definition", [PASS, FAIL], ids=["succeeded", "failed"])
def test_sync_responses_carry_io_details_and_no_unsent_trace_header(
    create_machine, sfn, definition
):
    result = sfn.start_sync_execution(stateMachineArn=create_machine(definition), input="{}")
    assert result["inputDetails"] == {"included": True}
    assert result["outputDetails"] == {"included": True}
    assert "traceHeader" not in result
    sent = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    traced = sfn.start_sync_execution(
        stateMachineArn=create_machine(definition), input="{}", traceHeader=sent
    )
    assert traced["traceHeader"] == sent


def test_standard_executions_describe_their_redrive_state(stack, create_machine, sfn):
    for definition, status, redrive in (
        (PASS, "SUCCEEDED", "NOT_REDRIVABLE"),
        (FAIL, "FAILED", "REDRIVABLE"),
    ):
        started = sfn.start_execution(stateMachineArn=create_machine(definition, kind="STANDARD"))
        assert stack.stepfunctions.wait(started["executionArn"], timeout=10) == status
        described = sfn.describe_execution(executionArn=started["executionArn"])
        assert described["inputDetails"] == {"included": True}
        assert (described["redriveCount"], described["redriveStatus"]) == (0, redrive)


def test_a_missing_function_is_named_by_its_qualified_arn(create_machine, function_arn, sfn):
    missing = function_arn(f"missing-{uuid.uuid4().hex[:6]}")
    for resource, parameters in (
        ("arn:aws:states:::lambda:invoke", {"FunctionName": missing}),
        (missing, None),
    ):
        state = {"Type": "Task", "Resource": resource, "End": True}
        if parameters:
            state["Parameters"] = parameters
        machine = create_machine({"StartAt": "Call", "States": {"Call": state}})
        result = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
        assert result["status"] == "FAILED"
        if parameters:  # the optimised integration's error name (the Resource form: see docs)
            assert result["error"] == "Lambda.ResourceNotFoundException", result
        assert f"Function not found: {missing}:$LATEST" in result["cause"]


def sqs_machine(create_machine, parameters):
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": parameters,
    }
    return create_machine({"StartAt": "Send", "States": {"Send": {**state, "End": True}}})


def test_sqs_integration_errors_are_amazon_sqs_exceptions(stack, create_machine, sfn):
    url = stack.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    machine = sqs_machine(create_machine, {"QueueUrl": url + "-gone", "MessageBody": "x"})
    result = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert (result["status"], result["error"]) == ("FAILED", "SQS.AmazonSQSException"), result
    assert "(Service: AmazonSQS; Status Code: 400; Error Code: " in result["cause"]
    machine = sqs_machine(create_machine, {"QueueUrl": url})
    result = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert result["error"] == "SQS.AmazonSQSException", result
    assert "Error Code: MissingParameter" in result["cause"]


def test_send_message_without_a_body_is_a_missing_parameter_error(stack):
    from botocore.config import Config
    from botocore.exceptions import ClientError

    sqs = stack.client("sqs", config=Config(parameter_validation=False))
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "MissingParameter"


def test_a_lambda_resource_fails_with_the_payload_as_the_runtime_wrote_it(
    stack, create_machine, function_arn, sfn
):
    machine = create_machine(
        {
            "StartAt": "Raise",
            "States": {"Raise": {"Type": "Task", "Resource": function_arn("raiser"), "End": True}},
        }
    )
    result = sfn.start_sync_execution(stateMachineArn=machine, input='{"id": "m-1"}')
    assert result["status"] == "FAILED"
    written = stack.client("lambda").invoke(FunctionName="raiser", Payload=b'{"id": "m-1"}')
    text = written["Payload"].read().decode()

    def without_request_id(payload: str) -> str:
        return payload.replace(json.loads(payload)["requestId"], "<request id>")

    # the same text, spacing and key order included: not re-serialised
    assert without_request_id(result["cause"]) == without_request_id(text)


@pytest.mark.parametrize("path", ["in process", "HTTP"])
def test_lambda_and_sqs_integration_results_carry_sdk_metadata(
    stack, create_machine, function_arn, sfn, faults, path
):
    if path == "HTTP":
        faults.add("lambda", kind="timeout", function="no-such-function", count=1)
    url = stack.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    machine = create_machine(
        {
            "StartAt": "Invoke",
            "States": {
                "Invoke": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function_arn("echo"), "Payload": {}},
                    "ResultPath": "$.invoke",
                    "Next": "Send",
                },
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": url, "MessageBody": "x"},
                    "ResultPath": "$.send",
                    "End": True,
                },
            },
        }
    )
    result = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    for key in ("invoke", "send"):
        metadata = output[key]["SdkHttpMetadata"]
        assert metadata["HttpStatusCode"] == 200
        request_id = output[key]["SdkResponseMetadata"]["RequestId"]
        assert request_id and metadata["HttpHeaders"]["x-amzn-RequestId"] == request_id
        assert metadata["AllHttpHeaders"]["x-amzn-RequestId"] == [request_id]
    assert output["invoke"]["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Executed-Version"] == "$LATEST"


@pytest.mark.parametrize(
    ("compat", "resource_type", "resource"),
    [("", "aws-sdk:cloudwatch", "putMetricData"), ("1", "aws-sdk", "cloudwatch:putMetricData")],
    ids=["aws", "sfn-local"],
)
def test_aws_sdk_tasks_are_named_as_aws_or_step_functions_local_does(
    create_machine, sfn, monkeypatch, compat, resource_type, resource
):
    monkeypatch.setenv("LOCAL_AWS_SFN_LOCAL_COMPAT", compat)  # the documented switch
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
        "Parameters": {"Namespace": "Shapes", "MetricData": [{"MetricName": "M", "Value": 1}]},
        "End": True,
    }
    machine = create_machine({"StartAt": "Put", "States": {"Put": task}})
    result = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    events = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
    named = [
        (details["resourceType"], details["resource"])
        for event in events
        for key, details in event.items()
        if key
        in ("taskScheduledEventDetails", "taskStartedEventDetails", "taskSucceededEventDetails")
    ]
    assert named == [(resource_type, resource)] * 3
