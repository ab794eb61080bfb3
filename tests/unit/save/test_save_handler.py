"""Save: conditional put of the stored item; the race gives DuplicateMessage, never a save error."""

import json
import re
from decimal import Decimal
from types import SimpleNamespace

import message_store
import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError, ConnectTimeoutError
from botocore.stub import ANY, Stubber
from lambda_testkit import (
    LOG_KEYS,
    TABLE_NAME,
    TIMESTAMP_PATTERN,
    emf_metrics,
    split_lines,
    stdout_lines,
    work_item,
)
from pipeline_common import message as message_codec
from pipeline_common.errors import DuplicateMessage, DynamoDBSaveError, PayloadMismatch

MESSAGE_ID = "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"
_DESERIALIZER = TypeDeserializer()


@pytest.fixture
def app(load_app, table):
    return load_app("save")


def stored_items(dynamodb):
    items = dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return [{k: _DESERIALIZER.deserialize(v) for k, v in item.items()} for item in items]


def test_saves_the_contract_item(app, dynamodb, capsys, monkeypatch):
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-67890abc-0123456789abcdef01234567;Parent=1;Sampled=1"
    )
    item = work_item("valid_transaction", execution="run-42")
    assert app.lambda_handler(item, None) == {"outcome": "saved", "message_id": MESSAGE_ID}
    (stored,) = stored_items(dynamodb)
    processed_at = stored.pop("processed_at")
    assert re.fullmatch(TIMESTAMP_PATTERN, processed_at)
    assert stored == {
        "message_id": MESSAGE_ID,
        "timestamp": "2026-01-01T09:59:58.123Z",
        "source": "payments-api",
        "type": "transaction_created",
        "dlq_retry": 0,
        "payload": {
            "transaction_id": "txn-20260101-000042",
            "payer_id": "cust-7f3a",
            "receiver_id": "merchant-0193",
            "amount": Decimal("125.5"),
            "currency": "EUR",
            "description": "Invoice 2025-118",
        },
        "body_sha256": item["validated"]["body_sha256"],
        "sqs_message_id": item["messageId"],
        "message_group_id": "payer-7f3a",
        "sequence_number": item["attributes"]["SequenceNumber"],
        "receive_count": 1,
        "execution_id": item["validated"]["execution_id"],
        "xray_trace_id": "1-67890abc-0123456789abcdef01234567",
    }
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf_metrics(emf) == ["MessagesSaved"]
    assert emf[0]["message_id"] == MESSAGE_ID
    (line,) = logs
    assert set(line) == LOG_KEYS
    assert (line["action"], line["status"], line["trace_id"]) == (
        "dynamodb_save",
        "success",
        MESSAGE_ID,
    )


@pytest.mark.parametrize(
    ("name", "amount"),
    [
        ("valid_float_amount", Decimal("1234.56789")),
        ("valid_small_float_amount", Decimal("0.1")),
    ],
)
def test_float_amounts_are_stored_as_exact_decimals(app, dynamodb, name, amount):
    app.lambda_handler(work_item(name), None)
    (stored,) = stored_items(dynamodb)
    assert stored["payload"]["amount"] == amount
    assert str(stored["payload"]["amount"]) == str(amount)  # not 0.1000000000000000055511151231


def test_null_and_missing_optional_fields(app, dynamodb):
    app.lambda_handler(work_item("valid_null_description"), None)
    app.lambda_handler(work_item("valid_without_optional_fields"), None)
    by_id = {item["message_id"]: item for item in stored_items(dynamodb)}
    with_null = by_id["3e4f5a6b-7c8d-4e9f-a0b1-2c3d4e5f6071"]
    assert with_null["payload"]["description"] is None
    assert with_null["dlq_retry"] == 2
    without = by_id["4f5a6b7c-8d9e-4fa0-b1c2-3d4e5f607182"]
    assert "description" not in without["payload"]
    assert "dlq_retry" not in without


@pytest.mark.parametrize("name", ["valid_non_ascii", "valid_large_body", "valid_unknown_type"])
def test_round_trip(app, dynamodb, name):
    item = work_item(name)
    app.lambda_handler(item, None)
    (stored,) = stored_items(dynamodb)
    original = json.loads(item["body"], parse_float=Decimal)
    assert stored["payload"] == original["payload"]


def test_no_ttl_attribute_by_default(app, dynamodb):
    app.lambda_handler(work_item("valid_transaction"), None)
    assert "expires_at" not in stored_items(dynamodb)[0]


@pytest.mark.parametrize("days", ["0", None])
def test_no_ttl_attribute_when_ttl_is_zero_or_unset(load_app, table, dynamodb, days):
    app = load_app("save", IDEMPOTENCY_TTL_DAYS=days)
    app.lambda_handler(work_item("valid_transaction"), None)
    assert "expires_at" not in stored_items(dynamodb)[0]


def test_ttl_attribute_when_configured(load_app, table, dynamodb, monkeypatch):
    app = load_app("save", IDEMPOTENCY_TTL_DAYS="7")
    monkeypatch.setattr(message_store, "time", SimpleNamespace(time=lambda: 1_767_261_600.75))
    app.lambda_handler(work_item("valid_transaction"), None)
    (stored,) = stored_items(dynamodb)
    assert stored["expires_at"] == 1_767_261_600 + 7 * 86_400
    assert stored["processed_at"] == "2026-01-01T10:00:00.750Z"


def test_the_race_one_item_one_duplicate(app, dynamodb, capsys):
    # GIVEN two executions that both saw "new" for the same message (e.g. a redelivery)
    first = work_item("valid_transaction", execution="a")
    second = work_item("valid_transaction_reordered", execution="b")
    # WHEN both save
    app.lambda_handler(first, None)
    with pytest.raises(DuplicateMessage, match=MESSAGE_ID):
        app.lambda_handler(second, None)
    # THEN one item (the first one's), one MessagesSaved and one DuplicateMessages
    (stored,) = stored_items(dynamodb)
    assert stored["execution_id"] == first["validated"]["execution_id"]
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf_metrics(emf) == ["MessagesSaved", "DuplicateMessages"]
    assert logs[-1]["action"] == "message_skipped"
    assert logs[-1]["details"]["outcome"] == "lost_race"
    assert all(line["status"] != "error" for line in logs)


def test_the_race_with_another_body_is_a_payload_mismatch(app, dynamodb, capsys):
    app.lambda_handler(work_item("valid_transaction"), None)
    with pytest.raises(PayloadMismatch, match=MESSAGE_ID):
        app.lambda_handler(work_item("same_id_different_body"), None)
    (stored,) = stored_items(dynamodb)
    assert stored["payload"]["amount"] == Decimal("125.5")  # untouched
    _, emf = split_lines(stdout_lines(capsys))
    assert emf_metrics(emf) == ["MessagesSaved"]


def test_an_item_without_hash_counts_as_duplicate(app, dynamodb):
    dynamodb.put_item(TableName=TABLE_NAME, Item={"message_id": {"S": MESSAGE_ID}})
    with pytest.raises(DuplicateMessage):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_put_item_arguments(app):
    with Stubber(app.DYNAMODB) as stub:
        stub.add_response(
            "put_item",
            {},
            {
                "TableName": TABLE_NAME,
                "Item": ANY,
                "ConditionExpression": "attribute_not_exists(message_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        )
        app.lambda_handler(work_item("valid_transaction"), None)
        stub.assert_no_pending_responses()


def lost_race_error(item=None):
    response = {
        "Error": {
            "Code": "ConditionalCheckFailedException",
            "Message": "The conditional request failed",
        }
    }
    if item is not None:
        response["Item"] = item
    return ClientError(response, "PutItem")


def test_lost_race_without_returned_item_reads_it(app, dynamodb, monkeypatch):
    # GIVEN an endpoint that ignores ReturnValuesOnConditionCheckFailure
    app.lambda_handler(work_item("valid_transaction"), None)

    def put_item(**kwargs):
        raise lost_race_error()

    monkeypatch.setattr(app.DYNAMODB, "put_item", put_item)
    # WHEN the same message loses the race THEN the stored hash is read, and it is a duplicate
    with pytest.raises(DuplicateMessage):
        app.lambda_handler(work_item("valid_transaction"), None)
    with pytest.raises(PayloadMismatch):
        app.lambda_handler(work_item("same_id_different_body"), None)


def test_lost_race_fallback_read_is_consistent(app):
    """The winner's item is read with ConsistentRead: an eventually consistent read may not see
    the item that just won, and Save would then retry a duplicate as a DynamoDBSaveError."""
    _, sha = message_codec.fingerprint(work_item("valid_transaction")["body"])
    with Stubber(app.DYNAMODB) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response(
            "get_item",
            {"Item": {"message_id": {"S": MESSAGE_ID}, "body_sha256": {"S": sha}}},
            {
                "TableName": TABLE_NAME,
                "Key": {"message_id": {"S": MESSAGE_ID}},
                "ConsistentRead": True,
                "ProjectionExpression": "message_id, body_sha256",
            },
        )
        with pytest.raises(DuplicateMessage):
            app.lambda_handler(work_item("valid_transaction"), None)
        stub.assert_no_pending_responses()


def test_lost_race_with_no_item_left_is_a_save_error(app, monkeypatch):
    def put_item(**kwargs):
        raise lost_race_error()

    monkeypatch.setattr(app.DYNAMODB, "put_item", put_item)
    with pytest.raises(DynamoDBSaveError, match="no item is stored"):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_lost_race_and_failed_read_is_a_save_error(app):
    with Stubber(app.DYNAMODB) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_client_error("get_item", service_error_code="ThrottlingException")
        with pytest.raises(DynamoDBSaveError, match="ThrottlingException") as caught:
            app.lambda_handler(work_item("valid_transaction"), None)
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ValidationException",
        "ResourceNotFoundException",
        "TransactionConflictException",
    ],
)
def test_other_client_errors_are_save_errors(app, capsys, code):
    with Stubber(app.DYNAMODB) as stub:
        stub.add_client_error("put_item", service_error_code=code, service_message="nope")
        with pytest.raises(DynamoDBSaveError, match=f"PutItem failed: {code}: nope") as caught:
            app.lambda_handler(work_item("valid_transaction"), None)
    assert isinstance(caught.value.__cause__, ClientError)
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []
    assert (logs[-1]["action"], logs[-1]["status"]) == ("dynamodb_save", "error")


def test_connection_errors_are_save_errors(app, monkeypatch):
    def put_item(**kwargs):
        raise ConnectTimeoutError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(app.DYNAMODB, "put_item", put_item)
    with pytest.raises(DynamoDBSaveError, match="ConnectTimeoutError"):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_a_missing_table_is_a_save_error(load_app, aws):
    app = load_app("save")
    with pytest.raises(DynamoDBSaveError, match="ResourceNotFoundException"):
        app.lambda_handler(work_item("valid_transaction"), None)


def test_an_unstorable_number_is_a_save_error_not_a_crash(app):
    # Validate rejects it first; Save must still fail with its typed error if it ever gets one.
    item = work_item("valid_transaction")
    item["body"] = item["body"].replace("125.5", "1" * 45, 1)
    with pytest.raises(DynamoDBSaveError, match="cannot be serialised"):
        app.lambda_handler(item, None)


def test_no_payload_values_in_logs(app, capsys):
    app.lambda_handler(work_item("valid_non_ascii"), None)
    out = capsys.readouterr().out
    for value in ("usuário", "東京", "merchant-0193", "125.5", "\\u6771"):
        assert value not in out


def test_xray_subsegment_for_put_item(app, xray):
    with xray.segment():
        app.lambda_handler(work_item("valid_transaction"), None)
        with pytest.raises(DuplicateMessage):
            app.lambda_handler(work_item("valid_transaction"), None)
    saved, duplicate = xray.named("## save")
    assert saved.annotations == {
        "message_group_id": "payer-7f3a",
        "message_id": MESSAGE_ID,
        "outcome": "saved",
    }
    assert duplicate.annotations["outcome"] == "DuplicateMessage"
    (put,) = [s for s in saved.subsegments if s.name == "dynamodb"]
    assert put.namespace == "aws"
    assert put.aws["operation"] == "PutItem"
    assert put.aws["table_name"] == TABLE_NAME
    (failed_put,) = [s for s in duplicate.subsegments if s.name == "dynamodb"]
    assert failed_put.aws["operation"] == "PutItem"
    assert failed_put.error  # the 400 ConditionalCheckFailed is recorded on the call
