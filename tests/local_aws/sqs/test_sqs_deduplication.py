"""FIFO deduplication on the local endpoint.

AWS rules: API_SendMessage.html (MessageDeduplicationId, MessageGroupId) and FIFO-key-terms.html:
a deduplication id is remembered for the 5-minute interval after the first send, "even after the
message has been received and deleted"; sends with it are accepted but not delivered; the id is
at most 128 characters of alphanumerics and punctuation. DeduplicationScope=messageGroup
(API_CreateQueue.html) makes the scope the group.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from local_aws.sqs import sending


def _drain(sqs, url) -> list[str]:
    got = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return got
        for m in messages:
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_resend_after_delete_is_not_delivered(sqs, make_queue, send):
    url = make_queue()
    send(url, "first", dedup="order-1")
    assert _drain(sqs, url) == ["first"]
    resend = send(url, "first again", dedup="order-1")
    assert resend["MessageId"]  # accepted ...
    assert _drain(sqs, url) == []  # ... and not delivered


def test_content_based_deduplication_uses_the_body(sqs, make_queue):
    url = make_queue(ContentBasedDeduplication="true")
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert _drain(sqs, url) == ["same body", "other body"]


def test_message_group_scope_deduplicates_within_a_group_only(sqs, make_queue, send):
    url = make_queue(DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    send(url, "in A", "A", dedup="same")
    send(url, "in B", "B", dedup="same")
    send(url, "in A again", "A", dedup="same")
    assert sorted(_drain(sqs, url)) == ["in A", "in B"]


def test_the_window_counts_from_the_first_send(sqs, make_queue, send, monkeypatch):
    monkeypatch.setattr(sending, "DEDUPLICATION_WINDOW_MS", 1000)  # 5 min, shortened
    url = make_queue()
    send(url, "t0", dedup="d")
    time.sleep(0.6)
    send(url, "t0.6", dedup="d")  # inside the window: dropped, and does not extend it
    time.sleep(0.6)
    send(url, "t1.2", dedup="d")  # 1.2 s after the first send: a new message
    assert _drain(sqs, url) == ["t0", "t1.2"]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("MessageDeduplicationId", "x" * 129),
        ("MessageDeduplicationId", "has space"),
        ("MessageDeduplicationId", "é"),
        ("MessageGroupId", "g" * 129),
        ("MessageGroupId", "tab\there"),
    ],
)
def test_ids_outside_128_alphanumerics_and_punctuation_are_refused(
    sqs, make_queue, parameter, value
):
    url = make_queue()
    params = {"MessageGroupId": "g", "MessageDeduplicationId": "d", parameter: value}
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="x", **params)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert f"for parameter {parameter} is invalid" in error.value.response["Error"]["Message"]


def test_every_allowed_punctuation_character_is_accepted(sqs, make_queue):
    url = make_queue()
    token = "aZ09!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "x" * 92  # 128 characters
    sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId=token, MessageDeduplicationId=token
    )
