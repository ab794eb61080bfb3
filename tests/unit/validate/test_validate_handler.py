"""Validate: parse + JSON Schema, every violated path listed, never a payload value."""

import json
import re

import message_validation
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lambda_testkit import (
    EVENTS,
    LAMBDAS,
    LOG_KEYS,
    pipe_event,
    split_lines,
    sqs_record,
    stdout_lines,
    with_body,
)
from pipeline_common import message as message_codec
from pipeline_common.errors import ConfigurationError, InvalidMessage
from secret_samples import invalid_sample_names, secret_sample

VALID_NAMES = sorted(p.stem for p in (EVENTS / "bodies").glob("valid_*"))
INVALID_SAMPLES = invalid_sample_names()
SCHEMAS_DIR = LAMBDAS / "validate" / "schemas"


@pytest.fixture
def app(load_app):
    return load_app("validate")


@pytest.mark.parametrize("name", [*VALID_NAMES, "same_id_different_body"])
def test_valid_messages_pass_with_the_contract_shape(app, name):
    record = sqs_record(name)
    result = app.lambda_handler(record, None)
    message, sha = message_codec.fingerprint(record["body"])
    assert result == {
        "message_id": message["message_id"],
        "type": message["type"],
        "body_sha256": sha,
        "message": message,
        "sqs": {
            "message_id": record["messageId"],
            "receipt_handle": record["receiptHandle"],
            "message_group_id": "payer-7f3a",
            "event_source_arn": record["eventSourceARN"],
            "receive_count": 1,
            "sequence_number": record["attributes"]["SequenceNumber"],
        },
    }
    json.dumps(result)  # the runtime serialises the return value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("malformed_json", "body is not valid JSON: Expecting"),
        ("not_an_object", "body must be a JSON object, got a JSON array"),
        ("invalid_nan_amount", "NaN"),
        ("invalid_infinity_amount", "Infinity"),
        ("invalid_number_overflow", "out of the range of a double"),
        ("invalid_duplicate_key", "duplicate key"),
        ("invalid_lone_surrogate", "lone surrogate"),
        ("invalid_missing_field", "$.payload.amount: required property is missing"),
        ("invalid_wrong_type", "$.payload.amount: must be of type number"),
        ("invalid_bad_uuid", "$.message_id: is not a valid uuid"),
        ("invalid_bad_timestamp", "$.timestamp: is not a valid date-time"),
        ("invalid_amount_zero", "$.payload.amount: must be greater than 0"),
        ("invalid_amount_negative", "$.payload.amount: must be greater than 0"),
        ("invalid_empty_string", "$.source: must not be empty"),
        ("invalid_unexpected_field", "$.payload.iban: unexpected property"),
        ("invalid_dlq_retry_negative", "$.dlq_retry: must be greater than or equal to 0"),
        ("invalid_description_type", "$.payload.description: must be of type string or null"),
        ("invalid_payload_not_object", "$.payload: must be of type object"),
        ("invalid_amount_too_precise", "$.payload.amount: number cannot be stored exactly"),
    ],
)
def test_each_invalid_sample_raises_invalid_message(app, name, expected):
    with pytest.raises(InvalidMessage) as caught:
        app.lambda_handler(sqs_record(name), None)
    assert expected in str(caught.value)


def test_every_violated_path_is_listed_sorted(app):
    with pytest.raises(InvalidMessage) as caught:
        app.lambda_handler(sqs_record("invalid_multiple_violations"), None)
    assert str(caught.value) == "9 schema violations: " + "; ".join(
        [
            "$.extra: unexpected property",
            "$.message_id: is not a valid uuid",
            "$.payload.amount: must be greater than 0",
            "$.payload.note: unexpected property",
            "$.payload.payer_id: must be of type string",
            "$.payload.receiver_id: required property is missing",
            "$.payload.transaction_id: required property is missing",
            "$.source: must not be empty",
            "$.timestamp: is not a valid date-time",
        ]
    )


def test_the_error_text_is_bounded(app):
    body = json.loads(sqs_record("valid_transaction")["body"])
    body["payload"].update({f"unexpected_{i:04d}": i for i in range(2000)})
    with pytest.raises(InvalidMessage) as caught:
        app.lambda_handler(with_body(sqs_record("valid_transaction"), json.dumps(body)), None)
    text = str(caught.value)
    assert len(text) <= message_validation.MAX_ERROR_CHARS
    assert text.startswith("2000 schema violations: $.payload.unexpected_0000: unexpected")
    assert re.search(r"… and \d+ more$", text)


def test_odd_keys_are_quoted_and_clipped(app):
    body = json.loads(sqs_record("valid_transaction")["body"])
    body["payload"]["a b"] = 1
    body["payload"]["k" * 300] = 1
    with pytest.raises(InvalidMessage) as caught:
        app.lambda_handler(with_body(sqs_record("valid_transaction"), json.dumps(body)), None)
    assert '$.payload["a b"]: unexpected property' in str(caught.value)
    assert "k" * 65 not in str(caught.value)


def test_a_type_without_schema_is_checked_against_the_envelope_only(app):
    record = sqs_record("valid_unknown_type")
    assert app.lambda_handler(record, None)["type"] == "customer_updated"
    body = json.loads(record["body"])
    del body["timestamp"]
    with pytest.raises(InvalidMessage, match=r"\$\.timestamp: required property is missing"):
        app.lambda_handler(with_body(record, json.dumps(body)), None)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("message_id", "0B6F2A9E-4C1D-4E8A-9F3B-7D2C5E1A8B40", None),
        ("message_id", "0b6f2a9e4c1d4e8a9f3b7d2c5e1a8b40", "is not a valid uuid"),
        ("message_id", 42, "must be of type string"),
        ("timestamp", "2026-01-01T10:00:00+05:30", None),
        ("timestamp", "2026-01-01", "is not a valid date-time"),
        ("timestamp", "2026-01-01T10:00:00", "is not a valid date-time"),  # no offset
        ("dlq_retry", 3, None),
        ("dlq_retry", 1.5, "must be of type integer"),
        ("dlq_retry", True, "must be of type integer"),
        ("type", "", "must not be empty"),
    ],
)
def test_envelope_rules(app, field, value, expected):
    record = sqs_record("valid_transaction")
    body = json.loads(record["body"])
    body[field] = value
    call = lambda: app.lambda_handler(with_body(record, json.dumps(body)), None)  # noqa: E731
    if expected is None:
        call()
    else:
        with pytest.raises(InvalidMessage, match=re.escape(f"$.{field}: {expected}")):
            call()


@pytest.mark.parametrize("amount", ["true", "null", "0.0", "-0.01", "[1]"])
def test_amount_must_be_a_positive_number(app, amount):
    record = sqs_record("valid_transaction")
    with pytest.raises(InvalidMessage, match=r"\$\.payload\.amount"):
        app.lambda_handler(with_body(record, record["body"].replace("125.5", amount, 1)), None)


@pytest.mark.parametrize(
    ("field", "digits", "valid"),
    [
        ("amount", 38, True),
        ("amount", 39, False),
        ("dlq_retry", 38, True),
        ("dlq_retry", 39, False),
    ],
)
def test_integers_beyond_38_digits_are_invalid_not_a_save_error(app, field, digits, valid):
    """DynamoDB stores at most 38 significant digits: such a body must be quarantined at once,
    not fail Save with DynamoDBSaveError on every receive (five redeliveries, then an alarm)."""
    record = sqs_record("valid_transaction")
    body = json.loads(record["body"])
    (body["payload"] if field == "amount" else body)[field] = int("9" * digits)
    call = lambda: app.lambda_handler(with_body(record, json.dumps(body)), None)  # noqa: E731
    if valid:
        assert call()["message"]["payload"]["amount"]
        return
    path = "$.payload.amount" if field == "amount" else "$.dlq_retry"
    with pytest.raises(InvalidMessage) as caught:
        call()
    assert f"{path}: number cannot be stored exactly" in str(caught.value)
    assert "9" * 20 not in str(caught.value)  # the value itself is not quoted


def test_a_record_without_body(app):
    record = sqs_record("valid_transaction")
    del record["body"]
    with pytest.raises(InvalidMessage, match="no body"):
        app.lambda_handler(record, None)


def test_a_one_record_pipe_event_is_accepted(app):
    assert app.lambda_handler(pipe_event("valid_transaction"), None)["message_id"]


def test_a_batch_is_not_a_record(app):
    with pytest.raises(TypeError):
        app.lambda_handler(pipe_event("batch_mixed"), None)


def test_log_lines_valid(app, capsys):
    record = sqs_record("valid_non_ascii")
    app.lambda_handler(record, None)
    logs, emf = split_lines(stdout_lines(capsys))
    assert emf == []  # Validate writes no metric (InvalidMessages is counted by the workflow)
    assert [(x["action"], x["status"]) for x in logs] == [
        ("message_received", "info"),
        ("message_validated", "success"),
    ]
    for line in logs:
        assert set(line) == LOG_KEYS
        assert line["trace_id"] == "5a6b7c8d-9e0f-4a1b-c2d3-4e5f60718293"
        assert line["function"] == "validate"


def test_log_line_invalid(app, capsys):
    record = sqs_record("invalid_unexpected_field")
    with pytest.raises(InvalidMessage):
        app.lambda_handler(record, None)
    logs, _ = split_lines(stdout_lines(capsys))
    assert logs[-1]["action"] == "message_invalid"
    assert logs[-1]["status"] == "error"
    assert logs[-1]["details"] == {
        "error": "1 schema violation: $.payload.iban: unexpected property"
    }


def test_malformed_body_logs_under_the_sqs_message_id(app, capsys):
    record = sqs_record("malformed_json")
    with pytest.raises(InvalidMessage):
        app.lambda_handler(record, None)
    (line,) = stdout_lines(capsys)
    assert line["trace_id"] == record["messageId"]
    assert line["action"] == "message_invalid"


PAYLOAD_VALUES = ["cust-7f3a", "merchant-0193", "txn-20260101", "usuário", "東京", "DE00 0000"]


@pytest.mark.parametrize(
    "name", ["valid_non_ascii", "invalid_unexpected_field", "valid_transaction"]
)
def test_no_payload_values_in_logs_by_default(app, capsys, name):
    try:
        app.lambda_handler(sqs_record(name), None)
    except InvalidMessage as err:
        assert not any(v in str(err) for v in PAYLOAD_VALUES)
    out = capsys.readouterr().out
    assert not any(v in out for v in PAYLOAD_VALUES)
    assert "\\u6771" not in out  # nor escaped


@pytest.mark.parametrize("name", INVALID_SAMPLES)
def test_no_secret_of_an_invalid_sample_in_the_error_or_the_logs(app, capsys, name):
    """Every invalid sample, a secret in each rejected value: the error text (which reaches the
    log line, the Step Functions Cause and the DLQ's reason_detail) and stdout never quote one."""
    sample = secret_sample(name)
    with pytest.raises(InvalidMessage) as caught:
        app.lambda_handler(with_body(sqs_record("valid_transaction"), sample.body), None)
    out = capsys.readouterr().out
    assert [s for s in sample.secrets if s in str(caught.value) or s in out] == []
    for path in sample.rejected:  # not vacuous: the rejected value is what the error is about
        assert path in str(caught.value), (path, str(caught.value))


def test_the_secret_samples_carry_secrets_where_validate_rejects_a_value():
    samples = {name: secret_sample(name) for name in INVALID_SAMPLES}
    assert [n for n, s in samples.items() if not s.secrets] == ["malformed_json"]  # no values
    assert {n: s.rejected for n, s in samples.items() if s.rejected} == {
        "invalid_bad_timestamp": ("$.timestamp",),
        "invalid_description_type": ("$.payload.description",),
        "invalid_multiple_violations": (
            "$.extra",
            "$.timestamp",
            "$.payload.note",
            "$.payload.payer_id",
        ),
        "invalid_payload_not_object": ("$.payload",),
        "invalid_unexpected_field": ("$.payload.iban",),
        "invalid_wrong_type": ("$.payload.amount",),
    }


def test_payloads_are_logged_when_enabled(load_app, capsys):
    app = load_app("validate", LOG_PAYLOADS="true")
    app.lambda_handler(sqs_record("valid_transaction"), None)
    received = stdout_lines(capsys)[0]
    assert received["details"]["payload"]["payload"]["payer_id"] == "cust-7f3a"


# -- schemas and format checking ----------------------------------------------------------------


def test_the_schema_files_are_draft_2020_12():
    for path in SCHEMAS_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)
    assert {p.name for p in SCHEMAS_DIR.glob("*.schema.json")} >= {
        "envelope.schema.json",
        "transaction_created.schema.json",
    }


def test_uuid_and_date_time_are_really_checked():
    checker = message_validation.format_checker()
    assert not checker.conforms("not-a-uuid", "uuid")
    assert not checker.conforms("yesterday", "date-time")
    assert checker.conforms("2026-01-01T00:00:00Z", "date-time")


def test_refuses_to_start_when_date_time_cannot_be_checked(monkeypatch):
    # GIVEN jsonschema without rfc3339-validator: it would skip "date-time" silently
    monkeypatch.setattr(Draft202012Validator, "FORMAT_CHECKER", FormatChecker(formats=["uuid"]))
    with pytest.raises(ConfigurationError, match=r"date-time.*rfc3339-validator"):
        message_validation.load_schemas(SCHEMAS_DIR)


def test_a_broken_schema_fails_at_load(tmp_path):
    (tmp_path / "envelope.schema.json").write_text('{"type": "object"}')
    (tmp_path / "broken.schema.json").write_text('{"type": 12}')
    with pytest.raises(ConfigurationError, match=re.escape("broken.schema.json")):
        message_validation.load_schemas(tmp_path)
    (tmp_path / "broken.schema.json").unlink()
    (tmp_path / "envelope.schema.json").unlink()
    with pytest.raises(ConfigurationError, match=re.escape("envelope.schema.json")):
        message_validation.load_schemas(tmp_path)


def test_xray_subsegment_and_annotations(app, xray):
    with xray.segment():
        app.lambda_handler(sqs_record("valid_transaction"), None)
        with pytest.raises(InvalidMessage):
            app.lambda_handler(sqs_record("invalid_bad_uuid"), None)
    valid, invalid = xray.named("## validate")
    assert valid.annotations == {
        "message_group_id": "payer-7f3a",
        "message_id": "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40",
        "outcome": "valid",
    }
    assert invalid.annotations == {"message_group_id": "payer-7f3a", "outcome": "invalid"}
    assert invalid.cause["exceptions"][0].type == "InvalidMessage"
