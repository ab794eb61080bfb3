"""Batch requests on the local endpoint.

AWS rules: API_SendMessageBatch.html, API_DeleteMessageBatch.html,
API_ChangeMessageVisibilityBatch.html: entry Ids are up to 80 alphanumerics, hyphens and
underscores (InvalidBatchEntryId), at most 10 entries (TooManyEntriesInBatchRequest); each
entry's result is reported individually; SendMessageBatch's response has no Failed list when
nothing failed.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _entries(action: str, ids: list[str]) -> list[dict]:
    if action == "send_message_batch":
        return [
            {"Id": i, "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": f"d{n}"}
            for n, i in enumerate(ids)
        ]
    extra = {"VisibilityTimeout": 5} if action == "change_message_visibility_batch" else {}
    return [{"Id": i, "ReceiptHandle": f"handle{n}", **extra} for n, i in enumerate(ids)]


ACTIONS = ["send_message_batch", "delete_message_batch", "change_message_visibility_batch"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("bad_id", ["has space", "x" * 81, "dot.ted", ""])
def test_invalid_entry_ids_are_refused(sqs, make_queue, action, bad_id):
    url = make_queue()
    with pytest.raises(ClientError) as error:
        getattr(sqs, action)(QueueUrl=url, Entries=_entries(action, ["ok", bad_id]))
    assert error.value.response["Error"]["QueryErrorCode"] == "InvalidBatchEntryId"


@pytest.mark.parametrize("action", ACTIONS)
def test_more_than_ten_entries_are_refused(sqs, make_queue, action):
    url = make_queue()
    with pytest.raises(ClientError) as error:
        getattr(sqs, action)(QueueUrl=url, Entries=_entries(action, [f"e{i}" for i in range(11)]))
    assert error.value.response["Error"]["QueryErrorCode"] == "TooManyEntriesInBatchRequest"


def test_send_message_batch_omits_failed_when_nothing_failed(sqs, make_queue):
    url = make_queue()
    response = sqs.send_message_batch(QueueUrl=url, Entries=_entries("send_message_batch", ["a"]))
    assert [e["Id"] for e in response["Successful"]] == ["a"]
    assert "Failed" not in response


def test_an_invalid_entry_fails_alone(sqs, make_queue):
    url = make_queue()
    entries = _entries("send_message_batch", ["good", "bad"])
    entries[1]["MessageDeduplicationId"] = "no spaces allowed"
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [e["Id"] for e in response["Successful"]] == ["good"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in response["Failed"]] == [
        ("bad", "InvalidParameterValue", True)
    ]
