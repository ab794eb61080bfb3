"""SQS on the local endpoint, through boto3: a client and fresh queues per test."""

from __future__ import annotations

import uuid

import pytest


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
