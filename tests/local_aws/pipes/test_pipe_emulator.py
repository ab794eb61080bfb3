"""local_aws.pipes on the local endpoint's SQS, with a scripted target in place of Step Functions.

The integration suite (tests/integration) runs the same emulator against the real workflow;
these tests pin the pipe's own behaviour: record shape, delete/redelivery, FIFO group locking,
batching and redrive.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable

import boto3
import pytest
from lambda_testkit import RECORD_KEYS

from local_aws.pipes.emulator import PipeDefinition, PipeEmulator, PipeOptions

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint(local_stack):
    # The emulator relies on the queue's FIFO semantics (local_aws/sqs), not on plain moto's.
    return local_stack.endpoint_url


@pytest.fixture
def sqs(endpoint):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


_counter = iter(range(10_000))


@pytest.fixture
def queues(sqs):
    n = next(_counter)
    dlq = sqs.create_queue(QueueName=f"pipe-dlq{n}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=f"pipe-src{n}.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "1800",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq


class ScriptedPipe(PipeEmulator):
    """The pipe with `_invoke` replaced by a Python function of the record list."""

    def __init__(self, target: Callable[[list[dict]], str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.calls: list[list[dict]] = []
        self.active: dict[str, int] = {}
        self.overlaps = 0
        self._lock = threading.Lock()

    def _invoke(self, payload: str) -> tuple[str, str | None, str | None]:
        records = json.loads(payload)
        groups = {r["attributes"]["MessageGroupId"] for r in records}
        with self._lock:
            self.calls.append(records)
            for g in groups:
                self.active[g] = self.active.get(g, 0) + 1
                if self.active[g] > 1:
                    self.overlaps += 1
        try:
            return self.target(records), None, None
        finally:
            with self._lock:
                for g in groups:
                    self.active[g] -= 1


def _pipe(endpoint, arn, target, batch_size=1, window=0, **options):
    definition = PipeDefinition(
        name="p",
        arn="arn:aws:pipes:us-east-1:123456789012:pipe/p",
        source_arn=arn,
        target_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        role_arn=None,
        batch_size=batch_size,
        batching_window_s=window,
        invocation_type="REQUEST_RESPONSE",
        desired_state="RUNNING",
        region=REGION,
    )
    opts = PipeOptions(redelivery_delay_s=1, wait_time_s=1, **options)
    return ScriptedPipe(target, definition, endpoint, opts)


def _send(sqs, url, group, body, **extra):
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=f"{group}-{hashlib.sha256(body.encode()).hexdigest()}",
        **extra,
    )["MessageId"]


def _drained(sqs, url, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if (
            attrs["ApproximateNumberOfMessages"]
            == "0"
            == attrs["ApproximateNumberOfMessagesNotVisible"]
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"queue not drained: {attrs}")


def test_record_shape_is_the_pipe_sqs_record(endpoint, sqs, queues):
    url, arn, _ = queues
    pipe = _pipe(endpoint, arn, lambda records: "SUCCEEDED")
    message_id = _send(
        sqs,
        url,
        "g1",
        '{"a": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "demo"}},
    )
    with pipe:
        _drained(sqs, url)
    [[record]] = pipe.calls
    assert list(record) == list(RECORD_KEYS)
    assert record["messageId"] == message_id
    assert record["body"] == '{"a": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == REGION
    attributes = record["attributes"]
    assert set(attributes) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert all(isinstance(v, str) for v in attributes.values())
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["MessageGroupId"] == "g1"
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "demo",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    counters = pipe.counters.snapshot()
    assert counters["executions"] == {"SUCCEEDED": 1}
    assert counters["messages_deleted"] == 1


def test_failed_batch_is_redelivered_after_the_short_delay(endpoint, sqs, queues):
    url, arn, _ = queues
    outcomes = iter(["FAILED", "TIMED_OUT", "SUCCEEDED"])
    pipe = _pipe(endpoint, arn, lambda records: next(outcomes))
    _send(sqs, url, "g1", "x")
    started = time.monotonic()
    with pipe:
        _drained(sqs, url)
    elapsed = time.monotonic() - started
    counts = [r[0]["attributes"]["ApproximateReceiveCount"] for r in pipe.calls]
    assert counts == ["1", "2", "3"]
    assert 2.0 <= elapsed < 10.0  # two 1-second redelivery delays, not 2 x 1800 s
    assert pipe.counters.snapshot()["executions"] == {"FAILED": 1, "TIMED_OUT": 1, "SUCCEEDED": 1}


def test_redrive_to_the_dlq_after_max_receive_count(endpoint, sqs, queues):
    url, arn, dlq = queues
    pipe = _pipe(endpoint, arn, lambda records: "FAILED")
    message_id = _send(sqs, url, "g1", "poison")
    with pipe:
        _drained(sqs, url)
    assert len(pipe.calls) == 3  # maxReceiveCount
    moved = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"]
    assert [m["MessageId"] for m in moved] == [message_id]


def test_fifo_order_and_one_batch_per_group(endpoint, sqs, queues):
    url, arn, _ = queues
    failed_once: set[str] = set()

    def target(records):
        # Like the workflow: each message is deleted by the execution itself, before it ends,
        # which unlocks the group in SQS while the execution is still running.
        body = records[0]["body"]
        if body == "a2" and body not in failed_once:
            failed_once.add(body)
            return "FAILED"
        for r in records:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=r["receiptHandle"])
        time.sleep(0.15)
        return "SUCCEEDED"

    pipe = _pipe(endpoint, arn, target, max_concurrency=3)
    for i in range(1, 5):
        for group in ("a", "b", "c"):
            _send(sqs, url, group, f"{group}{i}")
    with pipe:
        _drained(sqs, url, timeout=30)
    order = {g: [] for g in "abc"}
    for records in pipe.calls:
        for r in records:
            order[r["attributes"]["MessageGroupId"]].append(r["body"])
    assert order["a"] == ["a1", "a2", "a2", "a3", "a4"]
    assert order["b"] == ["b1", "b2", "b3", "b4"]
    assert order["c"] == ["c1", "c2", "c3", "c4"]
    assert pipe.overlaps == 0, "two batches of one group were in flight together"


def test_batch_size_caps_a_batch_of_one_groups_messages(endpoint, sqs, queues):
    url, arn, _ = queues
    for i in range(5):
        _send(sqs, url, "g1", f"m{i}")
    pipe = _pipe(endpoint, arn, lambda records: "SUCCEEDED", batch_size=3)
    with pipe:
        _drained(sqs, url)
    assert [[r["body"] for r in call] for call in pipe.calls] == [
        ["m0", "m1", "m2"],
        ["m3", "m4"],
    ]


def test_batching_window_accumulates_across_receives(endpoint, sqs, queues):
    url, arn, _ = queues
    pipe = _pipe(endpoint, arn, lambda records: "SUCCEEDED", batch_size=3, window=2)
    _send(sqs, url, "g1", "first")
    with pipe:
        # the first message is received and waits for the window
        _wait_for(lambda: pipe.counters.snapshot()["messages_received"] == 1)
        _send(sqs, url, "g2", "second")
        _drained(sqs, url)
    assert [[r["body"] for r in call] for call in pipe.calls] == [["first", "second"]]


def test_stop_is_prompt_during_an_idle_long_poll(endpoint, sqs, queues):
    _, arn, _ = queues
    pipe = _pipe(endpoint, arn, lambda records: "SUCCEEDED")
    pipe.options.wait_time_s = 20
    pipe.start()
    time.sleep(0.3)
    started = time.monotonic()
    pipe.stop()
    assert time.monotonic() - started < 2


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_held_messages_of_a_failed_group_are_sent_after_the_batch(endpoint, sqs, queues):
    """The docstring's promise: a message received while its group's batch is in flight (the
    workflow deleted that batch's message itself, unlocking the group in SQS) is held back and
    sent once that batch has finished, failed or not: SQS's whole-group lock guarantees nothing of
    the batch is left to redeliver, so it is not made visible again (receive count stays 1)."""
    url, arn, _ = queues
    pipe_holder: list[ScriptedPipe] = []

    def target(records):
        if records[0]["body"] == "m1":
            sqs.delete_message(QueueUrl=url, ReceiptHandle=records[0]["receiptHandle"])
            _wait_for(lambda: pipe_holder[0].held == 1)  # m2 received while m1 is in flight
            return "FAILED"
        return "SUCCEEDED"

    pipe = _pipe(endpoint, arn, target)
    pipe_holder.append(pipe)
    _send(sqs, url, "g1", "m1")
    _send(sqs, url, "g1", "m2")
    with pipe:
        _drained(sqs, url)
    delivered = [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for [r] in pipe.calls]
    assert delivered == [("m1", "1"), ("m2", "1")]
    counters = pipe.counters.snapshot()
    assert counters["messages_held"] == 1
    assert counters["messages_released"] == 0
    assert counters["executions"] == {"FAILED": 1, "SUCCEEDED": 1}
