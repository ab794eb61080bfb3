"""Log lines: one JSON object per line with the predecessor's keys plus correlation keys."""

import re

import pytest
from lambda_testkit import LOG_KEYS, TIMESTAMP_PATTERN, sqs_record, stdout_lines, work_item
from pipeline_common.structured_logging import StructuredLogger, xray_trace_id


def test_one_json_line_with_the_contract_keys(capsys):
    # GIVEN a logger started on a raw SQS record (message_id not known yet)
    record = sqs_record("valid_transaction")
    log = StructuredLogger("validate")
    log.start(record)
    # WHEN it logs an event
    log.info("message_received", {"body_bytes": 10})
    # THEN exactly one JSON line, with the keys of the contract
    (line,) = stdout_lines(capsys)
    assert set(line) == LOG_KEYS
    assert list(line)[:5] == ["trace_id", "action", "status", "details", "timestamp"]
    assert line["action"] == "message_received"
    assert line["status"] == "info"
    assert line["details"] == {"body_bytes": 10}
    assert re.fullmatch(TIMESTAMP_PATTERN, line["timestamp"])
    assert line["function"] == "validate"
    assert line["sqs_message_id"] == record["messageId"]
    assert line["message_group_id"] == "payer-7f3a"
    # trace_id falls back to the SQS messageId while the message_id is unknown
    assert line["trace_id"] == record["messageId"]


def test_trace_id_is_the_message_id_once_known(capsys):
    log = StructuredLogger("save")
    log.start(sqs_record("valid_transaction"))
    log.set_message_id("0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40")
    log.success("dynamodb_save")
    (line,) = stdout_lines(capsys)
    assert line["trace_id"] == "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"


def test_trace_id_from_the_validated_block(capsys):
    item = work_item("valid_transaction")
    log = StructuredLogger("delete")
    log.start(item)
    log.success("sqs_delete_message")
    assert stdout_lines(capsys)[0]["trace_id"] == item["validated"]["message_id"]


def test_xray_trace_id_is_the_root_of_the_lambda_header(monkeypatch, capsys):
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1"
    )
    assert xray_trace_id() == "1-5759e988-bd862e3fe1be46a994272793"
    StructuredLogger("validate").error("message_invalid", {"error": "x"})
    assert stdout_lines(capsys)[0]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_no_xray_trace_id_outside_lambda():
    assert xray_trace_id() is None


def test_payload_values_are_left_out_unless_enabled(capsys):
    StructuredLogger("validate").info("message_received", {"n": 1}, payload={"payer": "Zoë"})
    StructuredLogger("validate", log_payloads=True).info("message_received", payload={"p": 1})
    hidden, shown = stdout_lines(capsys)
    assert hidden["details"] == {"n": 1}
    assert shown["details"] == {"payload": {"p": 1}}


def test_status_is_checked():
    with pytest.raises(ValueError, match="status"):
        StructuredLogger("validate").event("x", "warning")
