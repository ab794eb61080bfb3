from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from local_aws.awslambda.runtime import FunctionSpec

FUNCTIONS = Path(__file__).resolve().parent / "functions"


@pytest.fixture(scope="session")
def stack(local_stack):
    """The session's LocalAWS with this folder's tiny test functions registered."""
    specs = [
        FunctionSpec("echo", FUNCTIONS / "echo", environment={"GREETING": "hello"}, memory_mb=256),
        FunctionSpec("raiser", FUNCTIONS / "raiser"),
        FunctionSpec("sleeper", FUNCTIONS / "sleeper", timeout_s=0.5),
        FunctionSpec("crasher", FUNCTIONS / "crasher"),
        FunctionSpec("emf", FUNCTIONS / "emf"),
        FunctionSpec("broken_import", FUNCTIONS / "broken_import"),
        FunctionSpec("sdk_call", FUNCTIONS / "sdk_call", timeout_s=10),
    ]
    for spec in specs:
        local_stack.lambdas.register(spec)
    yield local_stack
    local_stack.faults.clear()


@pytest.fixture
def faults(stack):
    """The fault injector, emptied after the test."""
    yield stack.faults
    stack.faults.clear()


# -- Step Functions (tests/local_aws/stepfunctions) ------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/local"


@pytest.fixture(scope="session")
def function_arn(stack):
    """`function_arn(name)` -> the ARN of a function registered on the session's LocalAWS."""
    return lambda name: f"arn:aws:lambda:{stack.region}:{stack.account_id}:function:{name}"


@pytest.fixture(scope="session")
def sfn(stack):
    return stack.client("stepfunctions")


@pytest.fixture(scope="session")
def create_machine(sfn):
    """`create_machine(definition, kind="EXPRESS", **kwargs)` -> the new state machine's ARN."""

    def create(definition: dict, kind: str = "EXPRESS", **kwargs) -> str:
        return sfn.create_state_machine(
            name=kwargs.pop("name", f"sm-{uuid.uuid4().hex[:8]}"),
            definition=json.dumps(definition),
            roleArn=ROLE,
            type=kind,
            **kwargs,
        )["stateMachineArn"]

    return create


# -- SQS (tests/local_aws/sqs): a client, fresh queues, sends -------------------------------


@pytest.fixture(scope="module")
def sqs(local_stack):
    return local_stack.client("sqs")


@pytest.fixture
def make_queue(sqs):
    """make_queue(fifo=True, **attributes) -> queue URL of a new queue with a unique name."""

    def make(fifo: bool = True, **attributes: str) -> str:
        name = f"sqs-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        if fifo:
            attributes = {"FifoQueue": "true", **attributes}
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    return make


@pytest.fixture
def send(sqs):
    """send(url, body, group="g", dedup=None, **params) -> SendMessage response."""

    def send_one(url: str, body: str, group: str = "g", dedup: str | None = None, **params):
        return sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=dedup or uuid.uuid4().hex,
            **params,
        )

    return send_one


@pytest.fixture(scope="session")
def bodies():
    """bodies(ReceiveMessage response) -> the message bodies, in the order received."""
    return lambda response: [m["Body"] for m in response.get("Messages", [])]
