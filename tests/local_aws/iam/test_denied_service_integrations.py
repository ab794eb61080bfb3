"""A state machine's service integrations call with its role; a denied one fails its Task with
the error name Step Functions gives it on AWS (local_aws/iam/task_errors.py cites the pages)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from local_aws.awslambda.runtime import FunctionSpec
from local_aws.iam.trust import trust_policy

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"

STATES_TRUST = trust_policy("states.amazonaws.com")


@pytest.fixture(scope="module")
def denied_machine(local_stack):
    """run(resource, parameters) -> the sync execution of a one-Task machine whose role grants
    only xray:PutTraceSegments."""
    local_stack.lambdas.register(FunctionSpec("iam-echo", FUNCTIONS / "echo"))
    iam = local_stack.client("iam")
    name = f"sm-role-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(STATES_TRUST))
    grant = {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
    )
    sfn = local_stack.client("stepfunctions")

    def run(resource, parameters):
        definition = {
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
            },
        }
        arn = sfn.create_state_machine(
            name=f"denied-{uuid.uuid4().hex[:6]}",
            definition=json.dumps(definition),
            roleArn=role["Role"]["Arn"],
            type="EXPRESS",
        )["stateMachineArn"]
        return sfn.start_sync_execution(stateMachineArn=arn, input="{}")

    return run, name


def test_denied_lambda_invoke_is_lambda_aws_lambda_exception(denied_machine):
    run, role = denied_machine
    result = run("arn:aws:states:::lambda:invoke", {"FunctionName": "iam-echo", "Payload": {}})
    assert (result["status"], result["error"]) == ("FAILED", "Lambda.AWSLambdaException")
    assert result["cause"].startswith(
        f"User: arn:aws:sts::123456789012:assumed-role/{role}/StepFunctions is not authorized to "
        "perform: lambda:InvokeFunction on resource: "
        "arn:aws:lambda:us-east-1:123456789012:function:iam-echo because"
    )
    assert "Error Code: AccessDeniedException" in result["cause"]


def test_denied_sqs_send_message_is_amazon_sqs_exception(denied_machine, local_stack):
    run, _ = denied_machine
    url = local_stack.client("sqs").create_queue(QueueName=f"denied-{uuid.uuid4().hex[:6]}")[
        "QueueUrl"
    ]
    result = run("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "x"})
    assert (result["status"], result["error"]) == ("FAILED", "SQS.AmazonSQSException")
    assert "sqs:sendmessage" in result["cause"]


def test_denied_aws_sdk_put_metric_data_is_cloudwatch_exception(denied_machine):
    run, _ = denied_machine
    parameters = {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1}]}
    result = run("arn:aws:states:::aws-sdk:cloudwatch:putMetricData", parameters)
    assert (result["status"], result["error"]) == ("FAILED", "CloudWatch.CloudWatchException")
    assert "cloudwatch:PutMetricData" in result["cause"]
