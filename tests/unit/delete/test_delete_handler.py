"""Delete: queue URL from eventSourceARN (cached per container), delete by receipt handle."""

import pytest
import queue_delete
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber
from lambda_testkit import (
    ACCOUNT,
    LOG_KEYS,
    QUEUE_NAME,
    REGION,
    emf_metrics,
    split_lines,
    sqs_record,
    stdout_lines,
    work_item,
)
from pipeline_common.errors import SQSDeleteError, SQSGetURLError

MESSAGE_ID = "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE_NAME}"


@pytest.fixture
def app(load_app, aws):
    return load_app("delete")


def in_flight(sqs, queue_url, name="valid_transaction"):
    """Send a sample body and receive it: (a work item for that delivery, its queue URL)."""
    record = work_item(name)
    sqs.send_message(QueueUrl=queue_url, MessageBody=record["body"], MessageGroupId="payer-7f3a")
    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
    return record


def queue_depth(sqs, queue_url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def count_calls(client, operation):
    calls = []
    client.meta.events.register(f"before-call.sqs.{operation}", lambda **kw: calls.append(1))
    return calls


def test_deletes_the_message(app, sqs, queue_url, capsys):
    record = in_flight(sqs, queue_url)
    assert record["eventSourceARN"] == QUEUE_ARN
    assert app.lambda_handler(record, None) == {"outcome": "deleted", "message_id": MESSAGE_ID}
    assert queue_depth(sqs, queue_url) == 0
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf_metrics(emf) == ["MessagesDeleted"]
    (line,) = logs
    assert set(line) == LOG_KEYS
    assert (line["action"], line["status"], line["trace_id"]) == (
        "sqs_delete_message",
        "success",
        MESSAGE_ID,
    )
    assert line["details"] == {"queue_name": QUEUE_NAME}


def test_the_queue_url_is_resolved_once_per_container(app, sqs, queue_url):
    lookups = count_calls(app.SQS, "GetQueueUrl")
    app.lambda_handler(in_flight(sqs, queue_url), None)
    app.lambda_handler(in_flight(sqs, queue_url, "valid_float_amount"), None)
    assert len(lookups) == 1
    assert {QUEUE_ARN: queue_url} == app.QUEUE_URLS


def test_get_queue_url_uses_name_and_owner_account(app):
    with Stubber(app.SQS) as stub:
        stub.add_response(
            "get_queue_url",
            {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo"},
            {"QueueName": QUEUE_NAME, "QueueOwnerAWSAccountId": ACCOUNT},
        )
        stub.add_response(
            "delete_message",
            {},
            {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo",
                "ReceiptHandle": sqs_record("valid_transaction")["receiptHandle"],
            },
        )
        app.lambda_handler(work_item("valid_transaction"), None)
        stub.assert_no_pending_responses()


def test_quarantined_record_without_validated_block(app, sqs, queue_url, capsys):
    # GIVEN the quarantine path: a malformed body, no `validated`, the error of the Catch
    sqs.send_message(QueueUrl=queue_url, MessageBody="{not json", MessageGroupId="payer-7f3a")
    (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    record = {
        **sqs_record("malformed_json"),
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": "{not json",
        "error": {"Error": "InvalidMessage", "Cause": "..."},
    }
    # WHEN it is deleted THEN it is gone, logged under its SQS messageId
    assert app.lambda_handler(record, None) == {"outcome": "deleted", "message_id": None}
    assert queue_depth(sqs, queue_url) == 0
    (line,) = split_lines(stdout_lines(capsys))[0]
    assert line["trace_id"] == message["MessageId"]


def test_a_missing_queue_is_a_get_url_error(app, capsys):
    with pytest.raises(SQSGetURLError, match=r"GetQueueUrl failed: .*NonExistentQueue") as caught:
        app.lambda_handler(work_item("valid_transaction"), None)
    assert isinstance(caught.value.__cause__, ClientError)
    assert app.QUEUE_URLS == {}
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []
    assert (logs[-1]["action"], logs[-1]["status"]) == ("sqs_get_queue_url", "error")


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "not-an-arn",
        "arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws:sqs:us-east-1::queue.fifo",
    ],
)
def test_a_bad_event_source_arn_is_a_get_url_error(app, arn):
    record = work_item("valid_transaction")
    record["eventSourceARN"] = arn
    with pytest.raises(SQSGetURLError):
        app.lambda_handler(record, None)


def test_parse_queue_arn():
    ref = queue_delete.parse_queue_arn(QUEUE_ARN)
    assert (ref.region, ref.account, ref.name) == (REGION, ACCOUNT, QUEUE_NAME)


def test_get_url_connection_errors(app, monkeypatch):
    def get_queue_url(**kwargs):
        raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(app.SQS, "get_queue_url", get_queue_url)
    with pytest.raises(SQSGetURLError, match="ReadTimeoutError"):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_an_invalid_receipt_handle_is_a_delete_error(app, sqs, queue_url, capsys):
    record = in_flight(sqs, queue_url)
    record["receiptHandle"] = "expired-or-forged"
    with pytest.raises(SQSDeleteError, match="DeleteMessage failed: ReceiptHandleIsInvalid") as e:
        app.lambda_handler(record, None)
    assert isinstance(e.value.__cause__, ClientError)
    assert queue_depth(sqs, queue_url) == 1  # still there: the pipe deletes it, or it returns
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []
    assert (logs[-1]["action"], logs[-1]["status"]) == ("sqs_delete_message", "error")


def test_a_missing_receipt_handle_is_a_delete_error(app, sqs, queue_url):
    record = work_item("valid_transaction")
    del record["receiptHandle"]
    with pytest.raises(SQSDeleteError, match="no receiptHandle"):
        app.lambda_handler(record, None)


def test_a_stale_cached_url_is_dropped(app, sqs, queue_url):
    # GIVEN a warm container that resolved the URL, then the queue was deleted
    app.lambda_handler(in_flight(sqs, queue_url), None)
    sqs.delete_queue(QueueUrl=queue_url)
    # WHEN a delete fails on it THEN the cache forgets the URL, so the next call resolves it again
    with pytest.raises(SQSDeleteError):
        app.lambda_handler(work_item("valid_transaction"), None)
    assert app.QUEUE_URLS == {}


def test_other_delete_errors_keep_the_cache(app):
    app.QUEUE_URLS[QUEUE_ARN] = "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo"
    with Stubber(app.SQS) as stub:
        stub.add_client_error("delete_message", service_error_code="AccessDenied")
        with pytest.raises(SQSDeleteError, match="AccessDenied"):
            app.lambda_handler(work_item("valid_transaction"), None)
    assert QUEUE_ARN in app.QUEUE_URLS


def test_xray_subsegments_for_sqs_calls(app, sqs, queue_url, xray):
    record = in_flight(sqs, queue_url)
    with xray.segment():
        app.lambda_handler(record, None)
    (handler,) = xray.named("## delete")
    assert handler.annotations == {
        "message_group_id": "payer-7f3a",
        "message_id": MESSAGE_ID,
        "outcome": "deleted",
    }
    calls = [s for s in handler.subsegments if s.name == "sqs"]
    assert [c.aws["operation"] for c in calls] == ["GetQueueUrl", "DeleteMessage"]
    assert all(c.namespace == "aws" for c in calls)
    assert calls[1].aws["queue_url"] == queue_url
