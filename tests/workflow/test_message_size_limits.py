"""The main queue's MaximumMessageSize: every message it accepts fits a batch into Step Functions.

Seeds: none (the bodies are built deterministically by tools/message_size_limits.py).
"""

from __future__ import annotations

import json

import message_size_limits as limits
import pytest
from botocore.exceptions import ClientError
from workflow_files import TEMPLATE_PATH

from local_aws.cloudformation.deploy import deploy
from local_aws.pipes.emulator import sqs_record

# Every class of character SQS accepts in a body (#x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD,
# #x10000-#x10FFFF), with the ones JSON escapes.
SQS_CHARACTERS = ["\t", "\n", "\r", " ", "a", '"', "\\", "/", "\x7f", "é", "\u07ff", "€"]
SQS_CHARACTERS += ["\ud7ff", "\ue000", "\ufffd", "😀", "\U0010ffff"]


def test_the_template_mapping_is_current(template):
    expected = limits.mapping(template)
    found = template["Mappings"][limits.MAPPING]
    assert {k: {"Bytes": int(v["Bytes"])} for k, v in found.items()} == expected
    assert limits.main(["message_size_limits.py", "--check", str(TEMPLATE_PATH)]) == 0


def test_the_queue_takes_its_limit_from_the_mapping_for_every_batch_size(template, resources):
    queue = resources["MessagesQueue"]["Properties"]
    assert queue["MaximumMessageSize"] == {
        "Fn::FindInMap": [limits.MAPPING, {"Ref": "BatchSize"}, "Bytes"]
    }
    allowed = template["Parameters"]["BatchSize"]["AllowedValues"]
    assert [str(v) for v in allowed] == list(template["Mappings"][limits.MAPPING])
    assert [int(v) for v in allowed] == list(range(1, 11))  # what a pipe allows for a FIFO source


@pytest.mark.parametrize("batch_size", range(1, 11))
def test_each_limit_is_the_largest_size_whose_worst_batch_fits(batch_size):
    size = limits.limit(batch_size)
    assert limits.SQS_MIN_SIZE <= size <= limits.SQS_MAX_SIZE
    assert limits.worst_batch_bytes(batch_size, size) <= limits.STATES_INPUT_LIMIT
    assert limits.worst_batch_bytes(batch_size, size + 1) > limits.STATES_INPUT_LIMIT


def test_the_worst_body_escapes_as_much_as_any_sqs_body_can():
    for size in (1, 1000):
        body = limits.worst_body(size)
        assert len(body.encode()) == size
        assert len(json.dumps(body)) - 2 == limits.ESCAPED_BYTES_PER_BYTE * size
    # no character takes more per byte in the emulator's encoding, nor written raw in UTF-8
    for char in SQS_CHARACTERS:
        utf8 = len(char.encode())
        raw = len(json.dumps(char, ensure_ascii=False).encode()) - 2
        escaped = len(json.dumps(char)) - 2
        assert raw <= escaped <= limits.ESCAPED_BYTES_PER_BYTE * utf8, repr(char)


def test_a_batch_serialises_to_its_size_times_one_record():
    # What worst_batch_bytes relies on to serialise one record instead of the whole batch.
    for attrs in (False, True):
        one = limits.record(limits.worst_message(3000, attrs), limits.SOURCE_ARN, limits.REGION)
        for n in range(1, 11):
            assert limits.input_bytes([one] * n) == n * limits.input_bytes([one]), (attrs, n)
            assert limits.worst_batch_bytes(n, 3000) >= limits.input_bytes([one] * n)


def test_ten_attributes_cost_more_than_the_same_bytes_of_body():
    plain = limits.record(limits.worst_message(5000, False), limits.SOURCE_ARN, limits.REGION)
    with_attrs = limits.record(limits.worst_message(5000, True), limits.SOURCE_ARN, limits.REGION)
    assert limits.input_bytes([with_attrs]) > limits.input_bytes([plain])
    assert limits.counted_attribute_bytes(limits.worst_message_attributes()) == 10 * (1 + 6 + 1)


def test_the_model_record_is_the_record_the_pipe_emulator_builds():
    message = limits.worst_message(limits.limit(1), True)
    emulated = sqs_record(message, limits.SOURCE_ARN, limits.REGION)
    assert emulated == limits.record(message, limits.SOURCE_ARN, limits.REGION)
    assert len(json.dumps([emulated]).encode()) == limits.worst_batch_bytes(1, limits.limit(1))


# ------------------------------------------------------------------------- on the local stack


@pytest.fixture(scope="module", params=[1, 10], ids=lambda n: f"BatchSize{n}")
def queue(request, local_stack):
    batch_size = request.param
    stack = deploy(
        local_stack,
        TEMPLATE_PATH,
        stack_name=f"size-limit-{batch_size}",
        parameter_overrides={"BatchSize": batch_size},
        log=lambda _: None,
    )
    return batch_size, stack.outputs["QueueUrl"]


def send(sqs, url: str, body: str, n: int = 0, group: str = "g") -> dict:
    return sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=f"d{n}"
    )


def delete(sqs, url: str, messages: list[dict]) -> None:
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_the_deployed_queue_has_the_limit_of_its_batch_size(queue, local_stack):
    batch_size, url = queue
    sqs = local_stack.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])
    assert int(attrs["Attributes"]["MaximumMessageSize"]) == limits.limit(batch_size)


def test_one_byte_under_is_stored_and_one_byte_over_is_refused(queue, local_stack):
    batch_size, url = queue
    size = limits.limit(batch_size)
    sqs = local_stack.client("sqs")
    # ASCII bodies: moto counts the body in characters (see docs/deploy.md), AWS in bytes.
    for n, length in enumerate((size - 1, size)):
        assert send(sqs, url, "x" * length, n)["MessageId"]
    with pytest.raises(ClientError) as refused:
        send(sqs, url, "x" * (size + 1), 2)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        f"One or more parameters are invalid. Reason: Message must be shorter than {size} bytes."
    )
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    assert sorted(len(m["Body"]) for m in received["Messages"]) == [size - 1, size]
    delete(sqs, url, received["Messages"])


def test_a_full_batch_of_the_largest_messages_fits_the_step_functions_input(queue, local_stack):
    batch_size, url = queue
    size = limits.limit(batch_size)
    sqs = local_stack.client("sqs")
    group = '"' * limits.ID_MAX  # every character escaped in the record
    for n in range(batch_size):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=limits.worst_body(size),
            MessageGroupId=group,
            MessageDeduplicationId='"' * (limits.ID_MAX - 3) + f"{n:03d}",
        )
    received = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=batch_size,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )["Messages"]
    assert len(received) == batch_size
    source_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    records = [sqs_record(m, source_arn["Attributes"]["QueueArn"], "us-east-1") for m in received]
    assert len(json.dumps(records).encode()) <= limits.STATES_INPUT_LIMIT
    delete(sqs, url, received)
