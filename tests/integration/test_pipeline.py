"""The whole pipeline on the local stack: real template, real ASL, real Lambdas, emulated pipe.

Every assertion reads AWS state (DynamoDB items, DLQ messages, execution histories, CloudWatch
metric sums, queue attributes); none reads the emulator's variables.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from lambda_testkit import RECORD_KEYS

from local_aws.pipes.emulator import PipeOptions
from local_aws.stack import StackRunner
from pipeline_tools.contract import STACK_NAME, TEMPLATE_PATH
from pipeline_tools.observer import StackObserver

HAPPY_PATH = ["Validate", "CheckIdempotency", "IsDuplicate", "Save", "Delete"]
DUPLICATE_PATH = ["Validate", "CheckIdempotency", "IsDuplicate", "Delete"]
QUARANTINE_AFTER_CHECK = [
    "Validate",
    "CheckIdempotency",
    "QuarantineMessage",
    "RecordInvalidMessage",
    "Delete",
]
QUARANTINE_AFTER_VALIDATE = ["Validate", "QuarantineMessage", "RecordInvalidMessage", "Delete"]
RECORD_ATTRIBUTES = {
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
}
INVALID_BODIES = sorted(
    p.name
    for p in (Path(__file__).resolve().parents[2] / "events" / "bodies").iterdir()
    if p.name.startswith(("invalid_", "malformed_", "not_an_object"))
)


def _queue_is_empty(observer) -> bool:
    return not any(observer.queue_depth().values())


def test_happy_path_stores_once_with_the_pipe_record_shape(
    observer, send_and_wait, new_body, group, metrics, execution_input, sha256_of_body
):
    text = new_body("valid_transaction.json")
    [outcome] = send_and_wait([(text, group)])

    assert outcome.kind == "stored"
    item = outcome.item
    assert item["message_id"]["S"] == json.loads(text)["message_id"]
    assert item["sqs_message_id"]["S"] == outcome.message.sqs_message_id
    assert item["message_group_id"]["S"] == group
    assert item["receive_count"]["N"] == "1"
    assert item["body_sha256"]["S"] == sha256_of_body(text)
    assert item["payload"]["M"]["amount"]["N"] == "125.5"
    [attempt] = outcome.attempts
    assert attempt.status == "SUCCEEDED"
    assert attempt.states == HAPPY_PATH
    assert item["execution_id"]["S"] == attempt.execution_arn

    [record] = execution_input(attempt.execution_arn)  # always an array, even for BatchSize 1
    assert list(record) == list(RECORD_KEYS)
    assert record["messageId"] == outcome.message.sqs_message_id
    assert record["body"] == text
    assert set(record["attributes"]) == RECORD_ATTRIBUTES
    assert all(isinstance(v, str) for v in record["attributes"].values())
    assert record["attributes"]["MessageGroupId"] == group
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":" + observer.queue_url.rsplit("/", 1)[1])

    assert metrics.now() == metrics.expected(MessagesSaved=1, MessagesDeleted=1)  # EMF
    assert _queue_is_empty(observer)


def test_duplicate_is_deleted_not_stored_again(
    observer, send_and_wait, new_body, group, metrics, sha256_of_body
):
    original = new_body("valid_transaction.json")
    # The same message serialised differently: same canonical hash, so a duplicate.
    reserialised = json.dumps(json.loads(original), indent=2, sort_keys=True)
    first, second = send_and_wait([(original, group), (reserialised, group)])

    assert (first.kind, second.kind) == ("stored", "duplicate")
    assert second.item["sqs_message_id"]["S"] == first.message.sqs_message_id
    assert [a.states for a in second.attempts] == [DUPLICATE_PATH]
    assert metrics.now() == metrics.expected(
        MessagesSaved=1, DuplicateMessages=1, MessagesDeleted=2
    )


def test_duplicate_race_in_two_groups_stores_exactly_one(
    observer, send_and_wait, new_body, group, metrics
):
    text = new_body("valid_transaction.json")
    outcomes = send_and_wait([(text, group + "-a"), (text, group + "-b")])

    assert sorted(o.kind for o in outcomes) == ["duplicate", "stored"]
    stored = next(o for o in outcomes if o.kind == "stored")
    assert observer.item(json.loads(text)["message_id"])["sqs_message_id"]["S"] == (
        stored.message.sqs_message_id
    )
    # The loser either saw the item (IsDuplicate) or lost the conditional put (Save catches
    # DuplicateMessage); both end in Delete and count one DuplicateMessages.
    loser = next(o for o in outcomes if o.kind == "duplicate")
    assert loser.attempts[-1].states[-1] == "Delete"
    assert metrics.now() == metrics.expected(
        MessagesSaved=1, DuplicateMessages=1, MessagesDeleted=2
    )


def test_same_id_different_body_is_quarantined_with_its_reason(
    observer, send_and_wait, new_body, group, metrics, sha256_of_body
):
    original = new_body("valid_transaction.json")
    conflict = new_body("valid_transaction.json", json.loads(original)["message_id"], amount=999.99)
    first, second = send_and_wait([(original, group), (conflict, group)])

    assert first.kind == "stored"
    assert (second.kind, second.reason) == ("quarantined", "PayloadMismatch")
    assert second.reason_detail
    dlq = second.dlq_message
    assert dlq["Body"] == conflict
    assert dlq["Attributes"]["MessageGroupId"] == group
    assert dlq["MessageAttributes"]["source_message_id"]["StringValue"] == (
        second.message.sqs_message_id
    )
    assert dlq["MessageAttributes"]["execution_id"]["StringValue"] == (
        second.attempts[-1].execution_arn
    )
    assert [a.states for a in second.attempts] == [QUARANTINE_AFTER_CHECK]
    # The stored item is untouched.
    assert observer.item(json.loads(original)["message_id"])["body_sha256"]["S"] == (
        sha256_of_body(original)
    )
    assert metrics.now() == metrics.expected(MessagesSaved=1, InvalidMessages=1, MessagesDeleted=2)


def test_every_invalid_class_is_quarantined_with_a_reason(
    observer, send_and_wait, raw_body, group, metrics
):
    messages = [(raw_body(name), f"{group}-{i % 3}") for i, name in enumerate(INVALID_BODIES)]
    outcomes = send_and_wait(messages, timeout=90)

    for name, outcome in zip(INVALID_BODIES, outcomes, strict=True):
        assert (outcome.kind, outcome.reason) == ("quarantined", "InvalidMessage"), name
        assert outcome.reason_detail, name
        assert outcome.dlq_message["Body"] == outcome.message.body, name
        assert [a.states for a in outcome.attempts] == [QUARANTINE_AFTER_VALIDATE], name
    n = len(INVALID_BODIES)
    assert metrics.now() == metrics.expected(InvalidMessages=n, MessagesDeleted=n)
    assert _queue_is_empty(observer)


@pytest.mark.parametrize(
    ("fault", "save_attempts"),
    [
        # HTTP 500: the Lambda's SDK retries it inside one Save invocation.
        ({"count": 2}, 1),
        # HTTP 400: the SDK does not retry, Save raises DynamoDBSaveError, the workflow retries.
        ({"count": 1, "http_status": 400}, 2),
    ],
    ids=["absorbed-by-sdk-retry", "retried-by-workflow"],
)
def test_transient_save_failure_is_retried_and_stored_once(
    observer, send_and_wait, new_body, group, metrics, faults, fault, save_attempts
):
    rule = faults.add("dynamodb", "PutItem", "InternalServerError", **fault)
    text = new_body("valid_transaction.json")
    [outcome] = send_and_wait([(text, group)])

    assert rule.injected == fault["count"]
    assert outcome.kind == "stored"
    [attempt] = outcome.attempts  # no redelivery
    assert attempt.states == HAPPY_PATH
    assert attempt.task_attempts["Save"] == save_attempts
    assert outcome.item["receive_count"]["N"] == "1"
    assert metrics.now() == metrics.expected(MessagesSaved=1, MessagesDeleted=1)


def test_persistent_save_failure_is_redelivered_then_redriven_to_the_dlq(
    observer, send_and_wait, new_body, group, metrics, faults
):
    redrive = json.loads(
        observer.sqs.get_queue_attributes(
            QueueUrl=observer.queue_url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]["RedrivePolicy"]
    )
    max_receives = int(redrive["maxReceiveCount"])
    faults.add("dynamodb", "PutItem", "InternalServerError", http_status=400)
    text = new_body("valid_transaction.json")
    [outcome] = send_and_wait([(text, group)], timeout=120)

    assert outcome.kind == "dead-lettered"
    assert outcome.dlq_message["Body"] == text
    assert "reason" not in (outcome.dlq_message.get("MessageAttributes") or {})  # redrive
    assert len(outcome.attempts) == max_receives
    for attempt in outcome.attempts:
        assert attempt.status == "FAILED"
        assert attempt.states[-2:] == ["RecordDynamoDBSaveError", "FailDynamoDBSave"]
    assert observer.item(json.loads(text)["message_id"]) is None
    assert metrics.now() == metrics.expected(DynamoDBSaveError=max_receives)
    assert _queue_is_empty(observer)


def test_delete_failure_is_counted_and_the_pipe_deletes_the_stored_message(
    observer, send_and_wait, new_body, group, metrics, faults
):
    # Only the Delete Lambda calls DeleteMessage; the pipe deletes with DeleteMessageBatch.
    faults.add("sqs", "DeleteMessage", "ReceiptHandleIsInvalid")
    text = new_body("valid_transaction.json")
    [outcome] = send_and_wait([(text, group)])

    assert outcome.kind == "stored"
    [attempt] = outcome.attempts
    assert attempt.status == "SUCCEEDED"
    assert attempt.states[-2:] == ["RecordSQSDeleteError", "LeaveForPipeDelete"]
    assert outcome.item["receive_count"]["N"] == "1"
    assert metrics.now() == metrics.expected(MessagesSaved=1, SQSDeleteError=1)
    assert _queue_is_empty(observer)  # deleted by the pipe after the successful execution


def test_fifo_order_within_a_group_is_kept_across_a_failure(
    observer, new_body, group, metrics, faults
):
    rule = faults.add("dynamodb", "PutItem", "InternalServerError", http_status=400)
    texts = [new_body("valid_transaction.json") for _ in range(3)]
    sent = [observer.send(text, group) for text in texts]
    deadline = time.monotonic() + 30
    try:  # fail the first message's first execution, then let everything through
        while time.monotonic() < deadline:
            observer.refresh_executions()
            if any(a.status == "FAILED" for a in observer.attempts(sent[0])):
                break
            time.sleep(0.05)
    finally:
        faults.remove(rule.id)
    outcomes = observer.wait_until_terminal(sent, timeout=60)

    assert [o.kind for o in outcomes] == ["stored"] * 3
    assert outcomes[0].attempts[0].status == "FAILED"
    assert outcomes[0].attempts[-1].status == "SUCCEEDED"
    # One batch at a time per group: nothing later in the group started before the earlier
    # message's last attempt had finished, redelivery included.
    for earlier, later in itertools.pairwise(outcomes):
        assert later.attempts[0].started >= earlier.attempts[-1].stopped
    processed = [o.item["processed_at"]["S"] for o in outcomes]
    assert processed == sorted(processed)
    # SequenceNumber increases within a group (API_SendMessage), so the items show the order too.
    sequence = [int(o.item["sequence_number"]["S"]) for o in outcomes]
    assert sequence == sorted(sequence)
    failed_attempts = sum(a.status == "FAILED" for o in outcomes for a in o.attempts)
    assert metrics.now() == metrics.expected(
        MessagesSaved=3, MessagesDeleted=3, DynamoDBSaveError=failed_attempts
    )


@pytest.fixture(scope="module")
def batch_pipeline(local_stack, pipeline):
    """A second stack from the same template with BatchSize 5 and a 1 s batching window."""
    runner = StackRunner(
        local_stack,
        TEMPLATE_PATH,
        stack_name=f"{STACK_NAME}-batch",
        parameter_overrides={
            "BatchSize": 5,
            "MaximumBatchingWindowInSeconds": 1,
            "MetricsNamespace": "MessagesPipelineBatch",
        },
        pipe_options=PipeOptions(redelivery_delay_s=1),
    ).start()
    yield runner
    runner.stop()


def test_batch_size_greater_than_one(batch_pipeline, new_body, raw_body, group, execution_input):
    observer = StackObserver.for_stack(batch_pipeline.deployed)
    metrics_before = observer.metric_sums()
    texts = [new_body("valid_transaction.json") for _ in range(3)]
    texts.insert(1, raw_body("invalid_missing_field.json"))
    texts.append(new_body("valid_float_amount.json"))
    other = new_body("valid_non_ascii.json")
    sent = [observer.send(text, group) for text in texts] + [observer.send(other, group + "-b")]
    outcomes = observer.wait_until_terminal(sent, timeout=60)

    assert [o.kind for o in outcomes] == [
        "stored",
        "quarantined",
        "stored",
        "stored",
        "stored",
        "stored",
    ]
    executions = {a.execution_arn for o in outcomes for a in o.attempts}
    sizes = sorted(len(execution_input(arn)) for arn in executions)
    assert max(sizes) > 1, sizes
    assert max(sizes) <= 5, sizes
    stored = [o for o in outcomes[:5] if o.kind == "stored"]
    processed = [o.item["processed_at"]["S"] for o in stored]
    assert processed == sorted(processed)  # order within the group kept inside a batch
    after = observer.metric_sums()
    assert after["MessagesSaved"] - metrics_before["MessagesSaved"] == 5
    assert after["InvalidMessages"] - metrics_before["InvalidMessages"] == 1
