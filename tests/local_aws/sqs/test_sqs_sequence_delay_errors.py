"""Sequence numbers, FIFO delays, error types and queue attributes on the local endpoint.

AWS rules: API_SendMessage.html (SequenceNumber "continues to increase for a particular
MessageGroupId"; DelaySeconds: "When you set FifoQueue, you can't set DelaySeconds per message",
the queue's delay applies); sqs-json-api-responses.html (the JSON error: `x-amzn-query-error`
carries the query code, `__type` the JSON type, InvalidParameterValueException for
InvalidParameterValue); API_CreateQueue.html (an existing name with different attributes is an
error; ContentBasedDeduplication, DeduplicationScope, FifoThroughputLimit apply only to FIFO
queues).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _sequence(response: dict) -> int:
    return int(response["SequenceNumber"])


def test_sequence_numbers_increase_within_a_group(sqs, make_queue, send):
    url = make_queue()
    numbers = [_sequence(send(url, f"m{i}", "A")) for i in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["SequenceNumber"]
    )
    assert [int(m["Attributes"]["SequenceNumber"]) for m in received["Messages"]] == numbers


def test_content_based_deduplication_messages_have_sequence_numbers(sqs, make_queue):
    url = make_queue(ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    second = sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g")
    assert _sequence(first) < _sequence(second)


def _delayed(sqs, url) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"])


def test_a_fifo_queue_applies_its_delay_even_to_delay_seconds_zero(sqs, make_queue, send):
    url = make_queue(DelaySeconds="60")
    send(url, "explicit zero", DelaySeconds=0)
    send(url, "no delay given")
    assert _delayed(sqs, url) == 2
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None


def test_a_fifo_queue_refuses_a_per_message_delay(sqs, make_queue, send):
    url = make_queue()
    with pytest.raises(ClientError) as error:
        send(url, "x", DelaySeconds=5)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_invalid_parameter_value_has_aws_json_error_type(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as error:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert error.value.response["Error"]["QueryErrorCode"] == "InvalidParameterValueException"
    assert error.value.response["Error"]["Type"] == "Sender"


def test_modeled_errors_keep_their_code_and_type(sqs):
    with pytest.raises(ClientError) as error:
        sqs.get_queue_url(QueueName="no-such-queue")
    assert error.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"


def test_create_queue_with_different_attributes_names_the_attribute(sqs, make_queue):
    url = make_queue(VisibilityTimeout="30")
    name = url.rsplit("/", 1)[1]
    same = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})
    assert same["QueueUrl"] == url
    with pytest.raises(ClientError) as error:
        sqs.create_queue(
            QueueName=name, Attributes={"FifoQueue": "true", "VisibilityTimeout": "99"}
        )
    assert error.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert error.value.response["Error"]["Message"] == (
        "A queue already exists with the same name and a different value for attribute "
        "VisibilityTimeout"
    )


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("ContentBasedDeduplication", "true"),
        ("DeduplicationScope", "messageGroup"),
        ("FifoThroughputLimit", "perMessageGroupId"),
    ],
)
def test_fifo_only_attributes_on_a_standard_queue_are_invalid_names(
    sqs, make_queue, attribute, value
):
    with pytest.raises(ClientError) as error:
        make_queue(fifo=False, **{attribute: value})
    assert error.value.response["Error"]["Code"] == "InvalidAttributeName"
    url = make_queue(fifo=False)
    with pytest.raises(ClientError) as error:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={attribute: value})
    assert error.value.response["Error"]["Code"] == "InvalidAttributeName"
