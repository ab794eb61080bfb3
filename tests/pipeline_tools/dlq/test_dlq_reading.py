"""Reading a FIFO DLQ loses nothing, reorders nothing and leaves no group locked (local SQS)."""

from __future__ import annotations

import uuid

from pipeline_tools.dlq.messages import DEAD_LETTERED, QUARANTINED, HeldPass, read


def _fifo_queue(local_stack) -> tuple[object, str]:
    sqs = local_stack.client("sqs")
    url = sqs.create_queue(
        QueueName=f"read-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "600"},
    )["QueueUrl"]
    return sqs, url


def _send(sqs, url, group, body, **attributes):
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=uuid.uuid4().hex,
        MessageAttributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        },
    )["MessageId"]


def test_read_twice_gives_everything_in_order_and_unlocks_the_groups(local_stack):
    sqs, url = _fifo_queue(local_stack)
    sent = [_send(sqs, url, "a", f'{{"n": {i}}}') for i in range(3)]
    sent += [_send(sqs, url, "b", '{"n": 9}', reason="InvalidMessage", source_message_id="s-1")]
    sent += [_send(sqs, url, "b", '{"n": 10}', reason="InvalidMessage", source_message_id="s-1")]

    first, unread = read(sqs, url)
    second, _ = read(sqs, url)
    assert [m.sqs_message_id for m in first] == sent == [m.sqs_message_id for m in second]
    assert unread == 0
    kinds = [(m.group, m.kind, m.copies) for m in first]
    assert kinds == [("a", DEAD_LETTERED, 1)] * 3 + [("b", QUARANTINED, 2)] * 2
    assert first[3].reason == "InvalidMessage" and first[3].source_message_id == "s-1"

    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    # a consumer gets the head of each group at once: nothing is left in flight
    heads = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert heads[0]["MessageId"] == sent[0]


def test_a_reader_killed_mid_read_leaves_the_messages_for_later(local_stack):
    sqs, url = _fifo_queue(local_stack)
    message_id = _send(sqs, url, "a", "{}")
    HeldPass(sqs, url, hold_s=4).receive_all()  # never restored, as after a kill
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # held: hidden
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=6)["Messages"]
    assert [m["MessageId"] for m in again] == [message_id]
