"""CheckIdempotency: consistent read by message_id → new | duplicate | PayloadMismatch."""

import hashlib
import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from lambda_testkit import (
    LOG_KEYS,
    NAMESPACE,
    TABLE_NAME,
    emf_metrics,
    split_lines,
    sqs_record,
    stdout_lines,
    with_body,
    work_item,
)
from pipeline_common.errors import DynamoDBCheckError, PayloadMismatch

MESSAGE_ID = "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"


@pytest.fixture
def app(load_app, table):
    return load_app("check_idempotency")


def store(dynamodb, message_id, body_sha256=None):
    item = {"message_id": {"S": message_id}}
    if body_sha256:
        item["body_sha256"] = {"S": body_sha256}
    dynamodb.put_item(TableName=TABLE_NAME, Item=item)


def test_new_message(app, capsys):
    result = app.lambda_handler(work_item("valid_transaction"), None)
    assert result == {"outcome": "new", "message_id": MESSAGE_ID}
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []
    (line,) = logs
    assert set(line) == LOG_KEYS
    assert (line["action"], line["status"], line["trace_id"]) == (
        "idempotency_check",
        "success",
        MESSAGE_ID,
    )
    assert line["details"] == {"table": TABLE_NAME, "outcome": "new"}


@pytest.mark.parametrize("name", ["valid_transaction", "valid_transaction_reordered"])
def test_duplicate_with_the_same_body_hash(app, dynamodb, capsys, name):
    # GIVEN the message is stored with the hash of valid_transaction
    stored = work_item("valid_transaction")["validated"]["body_sha256"]
    store(dynamodb, MESSAGE_ID, stored)
    # WHEN the same message (possibly re-serialised) is checked
    result = app.lambda_handler(work_item(name), None)
    # THEN it is a duplicate, counted once with an EMF line
    assert result == {"outcome": "duplicate", "message_id": MESSAGE_ID}
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf_metrics(emf) == ["DuplicateMessages"]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert emf[0]["DuplicateMessages"] == 1
    assert [(x["action"], x["status"]) for x in logs] == [("message_skipped", "info")]


def test_payload_mismatch_with_another_body_hash(app, dynamodb, capsys):
    store(dynamodb, MESSAGE_ID, work_item("valid_transaction")["validated"]["body_sha256"])
    with pytest.raises(PayloadMismatch, match=MESSAGE_ID):
        app.lambda_handler(work_item("same_id_different_body"), None)
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []  # InvalidMessages is counted by the workflow's quarantine branch
    assert logs[-1]["status"] == "error"
    assert logs[-1]["details"]["outcome"] == "payload_mismatch"


def test_an_item_without_hash_counts_as_duplicate(app, dynamodb):
    store(dynamodb, MESSAGE_ID)  # written by the predecessor: no body_sha256
    assert app.lambda_handler(work_item("valid_transaction"), None)["outcome"] == "duplicate"


def _redriven(name, retry):
    """The record of events/pipe/<name> as a DLQ redrive sends it: dlq_retry incremented."""
    record = sqs_record(name)
    body = json.loads(record["body"])
    body["dlq_retry"] = retry
    return work_item(with_body(record, json.dumps(body)))


def test_a_redriven_copy_of_a_stored_message_is_a_duplicate(app, dynamodb):
    # GIVEN the message stored by the pipeline (dlq_retry 0)
    store(dynamodb, MESSAGE_ID, work_item("valid_transaction")["validated"]["body_sha256"])
    # WHEN a copy redriven from the DLQ (dlq_retry 1) is checked THEN it is a duplicate
    assert app.lambda_handler(_redriven("valid_transaction", 1), None)["outcome"] == "duplicate"


def test_a_redriven_copy_of_an_item_with_a_legacy_hash_is_a_duplicate(app, dynamodb):
    # GIVEN an item stored before dlq_retry left the fingerprint (hash with dlq_retry 0)
    body = json.loads(sqs_record("valid_transaction")["body"])
    legacy = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    dynamodb.put_item(
        TableName=TABLE_NAME,
        Item={
            "message_id": {"S": MESSAGE_ID},
            "body_sha256": {"S": legacy},
            "dlq_retry": {"N": "0"},
        },
    )
    assert app.lambda_handler(_redriven("valid_transaction", 3), None)["outcome"] == "duplicate"
    with pytest.raises(PayloadMismatch):
        app.lambda_handler(_redriven("same_id_different_body", 3), None)


def test_get_item_is_consistent_and_projected(app):
    with Stubber(app.DYNAMODB) as stub:
        stub.add_response(
            "get_item",
            {},
            {
                "TableName": TABLE_NAME,
                "Key": {"message_id": {"S": MESSAGE_ID}},
                "ConsistentRead": True,
                "ProjectionExpression": "message_id, body_sha256, dlq_retry",
            },
        )
        assert app.lambda_handler(work_item("valid_transaction"), None)["outcome"] == "new"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "InternalServerError", "AccessDeniedException"],
)
def test_client_errors_raise_dynamodb_check_error(app, capsys, code):
    with Stubber(app.DYNAMODB) as stub:
        stub.add_client_error("get_item", service_error_code=code, service_message="nope")
        with pytest.raises(DynamoDBCheckError, match=f"GetItem failed: {code}: nope") as caught:
            app.lambda_handler(work_item("valid_transaction"), None)
    assert isinstance(caught.value.__cause__, ClientError)
    line = stdout_lines(capsys)[-1]
    assert (line["action"], line["status"]) == ("idempotency_check", "error")
    assert code in line["details"]["error"]


def test_a_missing_table_raises_dynamodb_check_error(load_app, aws):
    app = load_app("check_idempotency")  # no table fixture: moto answers ResourceNotFound
    with pytest.raises(DynamoDBCheckError, match="ResourceNotFoundException"):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_connection_errors_raise_dynamodb_check_error(app, monkeypatch):
    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(app.DYNAMODB, "get_item", unreachable)
    with pytest.raises(DynamoDBCheckError, match="EndpointConnectionError") as caught:
        app.lambda_handler(work_item("valid_transaction"), None)
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


def test_xray_subsegment_for_get_item(app, dynamodb, xray):
    with xray.segment():
        app.lambda_handler(work_item("valid_transaction"), None)
    (handler,) = xray.named("## check_idempotency")
    assert handler.annotations == {
        "message_group_id": "payer-7f3a",
        "message_id": MESSAGE_ID,
        "outcome": "new",
    }
    (call,) = [s for s in handler.subsegments if s.name == "dynamodb"]
    assert call.namespace == "aws"
    assert call.aws["operation"] == "GetItem"
    assert call.aws["table_name"] == TABLE_NAME


def test_xray_annotates_the_error(app, dynamodb, xray):
    store(dynamodb, MESSAGE_ID, "0" * 64)
    with xray.segment(), pytest.raises(PayloadMismatch):
        app.lambda_handler(work_item("valid_transaction"), None)
    (handler,) = xray.named("## check_idempotency")
    assert handler.annotations["outcome"] == "PayloadMismatch"
    assert handler.annotations["message_id"] == MESSAGE_ID
