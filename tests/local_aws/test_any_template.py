"""The endpoint runs an application that is not this pipeline: tests/local_aws/fixtures/shout
(one queue, a pipe, one Express state machine invoking one function), deployed and run end to
end through the AWS APIs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from local_aws.pipes.emulator import PipeOptions
from local_aws.stack import StackRunner

TEMPLATE = Path(__file__).parent / "fixtures" / "shout" / "template.yaml"


@pytest.fixture(scope="module")
def shout(local_stack):
    runner = StackRunner(
        local_stack, TEMPLATE, stack_name="shout", pipe_options=PipeOptions(wait_time_s=1)
    ).start()
    yield runner
    runner.stop()


def _record(body: str) -> dict:
    return {"messageId": body, "body": body, "attributes": {}, "messageAttributes": {}}


def test_the_state_machine_invokes_the_function(shout):
    sfn = shout.client("stepfunctions", inject_host_prefix=False)
    result = sfn.start_sync_execution(
        stateMachineArn=shout.deployed.outputs["StateMachineArn"],
        input=json.dumps([_record("hello"), _record("world")]),
    )
    assert result["status"] == "SUCCEEDED", result
    assert [item["shout"] for item in json.loads(result["output"])] == ["HELLO", "WORLD"]


def test_a_message_sent_to_the_queue_goes_through_the_pipe_and_is_deleted(shout):
    sqs = shout.client("sqs")
    sfn = shout.client("stepfunctions")
    queue_url = shout.deployed.outputs["QueueUrl"]
    machine = shout.deployed.outputs["StateMachineArn"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="through the pipe")

    deadline = time.monotonic() + 30
    outputs: list = []
    while time.monotonic() < deadline and not outputs:
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] == "SUCCEEDED" and "THROUGH THE PIPE" in described["output"]:
                outputs.append(json.loads(described["output"]))
        time.sleep(0.1)
    assert [[item["shout"] for item in output] for output in outputs] == [["THROUGH THE PIPE"]]

    attributes = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=attributes)
        if all(value == "0" for value in counts["Attributes"].values()):
            break
        time.sleep(0.1)
    assert counts["Attributes"] == dict.fromkeys(attributes, "0")  # the pipe deleted it
