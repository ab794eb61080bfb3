"""X-Ray helpers: annotations on a subsegment, and never an exception for a missing segment."""

import logging
import threading

import boto3
import pytest
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.lambda_launcher import LambdaContext
from pipeline_common import tracing
from pipeline_common.errors import InvalidMessage, PayloadMismatch


def test_without_a_segment_nothing_raises_or_logs_errors(caplog):
    caplog.set_level(logging.WARNING)
    tracing.configure("unit")
    with tracing.subsegment("## unit") as entity:
        tracing.annotate(message_id="m-1", outcome="new")
    assert entity is None
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_annotations_go_on_the_subsegment(xray):
    with xray.segment(), tracing.subsegment("## unit"):
        tracing.annotate(message_id="m-1", message_group_id="g-1", outcome="new", skipped=None)
    (sub,) = xray.named("## unit")
    assert sub.annotations == {"message_id": "m-1", "message_group_id": "g-1", "outcome": "new"}


def test_an_exception_is_recorded_and_propagates(xray):
    with pytest.raises(KeyError), xray.segment(), tracing.subsegment("## unit"):
        raise KeyError("boom")
    (sub,) = xray.named("## unit")
    assert sub.fault or sub.error
    assert sub.cause["exceptions"][0].type == "KeyError"


def test_annotate_on_a_segment_only_is_a_no_op(xray):
    with xray.segment() as segment:
        tracing.annotate(message_id="m-1")
    assert segment.annotations == {}


def test_in_lambda_annotations_land_on_our_subsegment(xray, monkeypatch):
    # GIVEN the Lambda context: a facade segment from _X_AMZN_TRACE_ID, which cannot be annotated
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1"
    )
    # monkeypatch restores the recorder's context: a LambdaContext left behind changes how later
    # tests of the same process trace
    monkeypatch.setattr(xray_recorder, "context", LambdaContext())
    monkeypatch.setattr(xray_recorder, "streaming_threshold", 0)  # as the SDK sets it in Lambda
    # WHEN the handler annotates, inside and outside its subsegment
    tracing.annotate(message_id="outside")
    with tracing.subsegment("## unit"):
        tracing.annotate(message_id="m-1", outcome="saved")
    # THEN no exception, and the subsegment (streamed on its own) carries the annotations
    (sub,) = xray.named("## unit")
    assert sub.annotations == {"message_id": "m-1", "outcome": "saved"}
    assert sub.trace_id == "1-5759e988-bd862e3fe1be46a994272793"


def test_patched_sdk_calls_without_a_segment_stay_quiet(caplog, aws):
    # GIVEN boto3 patched by the layer and no segment (outside Lambda, e.g. the local stack)
    tracing.configure("unit")
    caplog.set_level(logging.WARNING)
    # WHEN an SDK call is made THEN it works and the X-Ray SDK neither raises nor warns
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []
    # Only this thread's records: under xdist the worker may also host a local stack whose
    # threads make boto3 calls through the same (process-wide) patch while this test runs.
    records = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("aws_xray_sdk") and r.thread == threading.get_ident()
    ]
    assert records == []


def _record(body: str = '{"message_id": "m-1"}') -> dict:
    return {"messageId": "sqs-1", "body": body, "attributes": {"MessageGroupId": "g-1"}}


def test_traced_handler_annotates_the_result(xray):
    @tracing.traced_handler("unit", message_id=lambda: "from-log")
    def handler(record):
        assert record["messageId"] == "sqs-1"  # the record, unwrapped from the event
        return {"message_id": "m-1", "outcome": "saved"}

    with xray.segment():
        assert handler(_record(), None) == {"message_id": "m-1", "outcome": "saved"}
    (sub,) = xray.named("## unit")
    assert sub.annotations == {"message_group_id": "g-1", "message_id": "m-1", "outcome": "saved"}


def test_traced_handler_annotates_a_pipeline_error_and_reraises_it(xray):
    @tracing.traced_handler("unit", message_id=lambda: "from-log")
    def handler(record):
        raise PayloadMismatch("another body")

    with xray.segment(), pytest.raises(PayloadMismatch, match="another body"):
        handler(_record(), None)
    (sub,) = xray.named("## unit")
    assert sub.annotations == {
        "message_group_id": "g-1",
        "message_id": "from-log",
        "outcome": "PayloadMismatch",
    }
    assert sub.cause["exceptions"][0].type == "PayloadMismatch"


def test_traced_handler_custom_annotations_and_errors_outside_the_set_pass_untouched(xray):
    @tracing.traced_handler(
        "unit",
        message_id=lambda: None,
        on_success=lambda result: {"outcome": "valid"},
        on_error=lambda err: {"outcome": "invalid"},
        errors=InvalidMessage,
    )
    def handler(record):
        if record["body"] == "bad":
            raise InvalidMessage("bad")
        if record["body"] == "boom":
            raise KeyError("boom")
        return {"message_id": "m-1"}

    with xray.segment():
        handler(_record(), None)
        with pytest.raises(InvalidMessage):
            handler(_record("bad"), None)
        with pytest.raises(KeyError):
            handler(_record("boom"), None)
    valid, invalid, crashed = xray.named("## unit")
    assert valid.annotations == {"message_group_id": "g-1", "outcome": "valid"}
    assert invalid.annotations == {"message_group_id": "g-1", "outcome": "invalid"}
    assert crashed.annotations == {"message_group_id": "g-1"}  # not one of `errors`
