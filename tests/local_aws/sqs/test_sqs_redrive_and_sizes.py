"""Dead-letter redrive and message sizes on the local endpoint.

AWS rules: sqs-dead-letter-queues.html and API_ReceiveMessage.html (MessageSystemAttributeNames
DeadLetterQueueSourceArn: the source queue of a message moved to a dead-letter queue; a message
received maxReceiveCount times is moved on its next receive); API_SendMessage.html /
sqs-message-metadata.html (message attributes count towards the maximum message size, in bytes)
and API_SendMessageBatch.html (the whole batch is limited to 1 MiB, attributes included).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def test_a_redriven_message_carries_its_source_queue_arn(sqs, make_queue, send, bodies):
    dlq = make_queue()
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    policy = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    url = make_queue(RedrivePolicy=json.dumps(policy))
    source_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    send(url, "poison", "A")
    send(url, "next", "A")
    for _ in range(2):
        assert bodies(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)) == ["poison"]
    # third receive: poison moves to the DLQ, and the group's next message is delivered
    assert bodies(sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)) == ["next"]
    moved = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]
    assert (
        moved[0]["Attributes"]["DeadLetterQueueSourceArn"] == (source_arn["Attributes"]["QueueArn"])
    )


def _refused(call, **params) -> dict:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response["Error"]


def test_message_attributes_count_towards_the_maximum_message_size(sqs, make_queue, send):
    url = make_queue(MaximumMessageSize="1024")
    attribute = {"note": {"DataType": "String", "StringValue": "y" * 100}}
    error = _refused(send, url=url, body="x" * 1000, MessageAttributes=attribute)
    assert error["Code"] == "InvalidParameterValue"
    assert "Message must be shorter than 1024 bytes" in error["Message"]
    send(url, "x" * 900, MessageAttributes=attribute)  # 900 + 4 + 6 + 100 bytes: fits


def test_the_size_is_counted_in_utf8_bytes(sqs, make_queue, send):
    url = make_queue(MaximumMessageSize="1024")
    assert _refused(send, url=url, body="é" * 600)["Code"] == "InvalidParameterValue"


def test_the_batch_limit_counts_attributes_too(sqs, make_queue):
    url = make_queue()
    attribute = {"pad": {"DataType": "Binary", "BinaryValue": b"\0" * 20_000}}
    entries = [
        {
            "Id": f"e{i}",
            "MessageBody": "x" * 90_000,
            "MessageGroupId": "g",
            "MessageDeduplicationId": f"d{i}",
            "MessageAttributes": attribute,
        }
        for i in range(10)
    ]  # bodies 900,000 bytes, with attributes 1,100,070 > 1 MiB
    error = _refused(sqs.send_message_batch, QueueUrl=url, Entries=entries)
    assert error["QueryErrorCode"] == "BatchRequestTooLong"
