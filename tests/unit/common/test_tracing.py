"""X-Ray helpers: annotations on a subsegment, and never an exception for a missing segment."""

import logging

import boto3
import pytest
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.lambda_launcher import LambdaContext
from pipeline_common import tracing


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
    xray_recorder.context = LambdaContext()
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
    assert [r.getMessage() for r in caplog.records if r.name.startswith("aws_xray_sdk")] == []
