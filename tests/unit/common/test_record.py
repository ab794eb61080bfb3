"""Record accessors: the SQS record shape of docs/contract.md."""

import pytest
from lambda_testkit import sqs_record, work_item
from pipeline_common import record


def test_metadata_of_a_pipe_record():
    raw = sqs_record("valid_transaction")
    assert record.sqs_metadata(raw) == {
        "message_id": raw["messageId"],
        "receipt_handle": raw["receiptHandle"],
        "message_group_id": "payer-7f3a",
        "event_source_arn": "arn:aws:sqs:us-east-1:123456789012:sqs-fifo-pipeline-messages.fifo",
        "receive_count": 1,
        "sequence_number": raw["attributes"]["SequenceNumber"],
    }


def test_missing_keys_give_none():
    assert record.sqs_metadata({}) == dict.fromkeys(
        [
            "message_id",
            "receipt_handle",
            "message_group_id",
            "event_source_arn",
            "receive_count",
            "sequence_number",
        ]
    )
    assert record.receive_count({"attributes": {"ApproximateReceiveCount": "x"}}) is None
    assert record.validated({"validated": "nonsense"}) == {}


def test_validated_block():
    item = work_item("valid_transaction")
    assert record.message_id_hint(item) == "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"
    assert record.execution_id(item).startswith("arn:aws:states:")


def test_unwrap_accepts_a_record_or_a_one_record_array():
    raw = sqs_record("valid_transaction")
    assert record.unwrap(raw) is raw
    assert record.unwrap([raw]) is raw
    with pytest.raises(TypeError, match="2 items"):
        record.unwrap([raw, raw])
    with pytest.raises(TypeError):
        record.unwrap("body")
