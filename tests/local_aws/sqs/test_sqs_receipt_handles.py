"""Receipt handles on the local endpoint.

AWS rules: API_ReceiveMessage.html (ReceiveRequestAttemptId: "if a consumer whose message
processing time is longer than the visibility timeout tries to delete the processed messages,
the action fails with an error" — on a FIFO queue InvalidParameterValue, "The receipt handle has
expired"); API_DeleteMessage.html (ReceiptHandleIsInvalid for a handle SQS did not issue).
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError


def _error(call, **params) -> dict:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response["Error"]


def test_an_expired_fifo_receipt_handle_is_refused(sqs, make_queue, send):
    url = make_queue()
    send(url, "slow")
    old = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
    time.sleep(1.3)
    error = _error(sqs.delete_message, QueueUrl=url, ReceiptHandle=old)
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"].endswith("Reason: The receipt handle has expired.")
    new = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]
    assert _error(sqs.delete_message, QueueUrl=url, ReceiptHandle=old)["Code"] == (
        "InvalidParameterValue"
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new)  # deleting twice stays fine


def test_a_malformed_receipt_handle_gets_aws_code_and_text(sqs, make_queue):
    url = make_queue()
    error = _error(sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error["Code"] == "ReceiptHandleIsInvalid"
    assert (
        error["Message"] == 'The input receipt handle "not-a-handle" is not a valid receipt handle.'
    )


def test_delete_message_batch_reports_bad_handles_per_entry(sqs, make_queue, send):
    url = make_queue()
    send(url, "expired")
    send(url, "kept", "other")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)[
        "Messages"
    ]
    time.sleep(1.3)
    fresh = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    response = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "old", "ReceiptHandle": messages[0]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "garbage"},
            {"Id": "new", "ReceiptHandle": fresh["Messages"][0]["ReceiptHandle"]},
        ],
    )
    assert [e["Id"] for e in response["Successful"]] == ["new"]
    assert {e["Id"]: e["Code"] for e in response["Failed"]} == {
        "old": "InvalidParameterValue",
        "bad": "ReceiptHandleIsInvalid",
    }
