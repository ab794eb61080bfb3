"""FIFO receive order and group locking on the local endpoint.

AWS rules (SQS Developer Guide, "FIFO delivery logic" / FIFO-queues-understanding-logic.html,
and API_ReceiveMessage.html, ReceiveRequestAttemptId): a receive returns as many messages of one
group as possible, in order; while messages of a group are in flight, no more messages of that
group are returned (to anyone) until they are deleted or visible again; messages come back in
their original order after a visibility timeout.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict


def test_one_receive_returns_a_group_together_and_in_order(sqs, make_queue, send, bodies):
    url = make_queue()
    for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")]:
        send(url, body, group)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert bodies(received) == ["a1", "a2", "a3", "b1", "b2"]


def test_a_group_with_a_message_in_flight_is_locked_as_a_whole(sqs, make_queue, send, bodies):
    url = make_queue()
    for body in ("a1", "a2", "a3"):
        send(url, body, "A")
    send(url, "b1", "B")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)
    assert bodies(first) == ["a1", "a2"]
    # a1 made visible again while a2 is still in flight: group A stays locked.
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["Messages"][0]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["b1"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["Messages"][1]["ReceiptHandle"])
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert bodies(again) == ["a1", "a3"]


def test_a_long_poll_sees_a_group_unlocked_after_it_started(sqs, make_queue, send, bodies):
    url = make_queue()
    send(url, "a1", "A")
    send(url, "a2", "A")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)
    result: dict = {}
    poll = threading.Thread(
        target=lambda: result.update(
            sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, VisibilityTimeout=30)
        )
    )
    poll.start()
    time.sleep(0.5)  # the long poll is waiting, group A locked
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["Messages"][0]["ReceiptHandle"])
    poll.join(15)
    assert bodies(result) == ["a2"]


def test_redelivery_after_the_visibility_timeout_keeps_the_original_order(
    sqs, make_queue, send, bodies
):
    url = make_queue()
    for body in ("a1", "a2", "a3"):
        send(url, body, "A")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=1)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    time.sleep(1.3)
    again = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=30,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    assert bodies(again) == ["a1", "a2", "a3"]
    counts = [m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]]
    assert counts == ["2", "2", "1"]


def test_concurrent_consumers_never_hold_two_messages_of_one_group(sqs, make_queue, send):
    """8 consumers, long polls, 3 groups x 12 messages: per group one holder at a time, in order."""
    url = make_queue()
    for i in range(12):
        for group in "XYZ":
            send(url, f"{group}{i:02d}", group)
    holders: dict[str, int] = defaultdict(int)
    seen: dict[str, list[str]] = defaultdict(list)
    overlaps: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def consume() -> None:
        client = sqs  # boto3 clients are thread-safe
        while not done.is_set():
            response = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1, VisibilityTimeout=30
            )
            messages = response.get("Messages", [])
            groups = {m["Body"][0] for m in messages}
            with lock:
                for group in groups:
                    holders[group] += 1
                    if holders[group] > 1:
                        overlaps.append(f"{group}: {[m['Body'] for m in messages]}")
                for m in messages:
                    seen[m["Body"][0]].append(m["Body"])
            time.sleep(0.02)
            with lock:
                for group in groups:
                    holders[group] -= 1
            for m in messages:
                client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            with lock:
                if sum(len(v) for v in seen.values()) == 36:
                    done.set()

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    done.wait(60)
    done.set()
    for thread in threads:
        thread.join(10)
    assert overlaps == []
    assert {g: seen[g] for g in "XYZ"} == {g: [f"{g}{i:02d}" for i in range(12)] for g in "XYZ"}


def test_a_standard_queue_hands_out_every_visible_message(sqs, make_queue, bodies):
    url = make_queue(fifo=False)
    for body in ("s1", "s2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)
    assert sorted(bodies(first) + bodies(second)) == ["s1", "s2"]
