"""Local X-Ray's store, daemon and segment recording (local_aws/xray/), without a stack."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from types import SimpleNamespace

import pytest

from local_aws.xray import LocalXRay
from local_aws.xray.daemon import DAEMON_HEADER, XRayDaemon
from local_aws.xray.store import SegmentError, TraceStore, parse_filter

TRACE = "1-6b086c8d-23b8cd5894c0d700fb1a2dad"


def segment(seg_id, start, end, **fields):
    return {
        "id": seg_id,
        "trace_id": TRACE,
        "name": fields.pop("name", "fn"),
        "start_time": start,
        "end_time": end,
        **fields,
    }


def sub(seg_id, parent, start, end, **fields):
    return {**segment(seg_id, start, end, **fields), "type": "subsegment", "parent_id": parent}


def test_independent_subsegments_are_merged_under_their_parents():
    store = TraceStore()
    store.put(
        segment(
            "f1",
            10.0,
            10.5,
            origin="AWS::Lambda::Function",
            subsegments=[{"id": "inv", "name": "Invocation", "start_time": 10.0, "end_time": 10.5}],
        )
    )
    store.put(
        json.dumps(
            sub("h1", "f1", 10.1, 10.4, name="## handler", annotations={"message_id": "m-1"})
        )
    )
    store.put(sub("d1", "h1", 10.2, 10.3, name="dynamodb", namespace="aws"))
    [root] = store.segments(TRACE)
    assert [s["id"] for s in root["subsegments"]] == ["inv", "h1"]
    handler = root["subsegments"][1]
    assert "type" not in handler and "parent_id" not in handler and "trace_id" not in handler
    assert handler["subsegments"][0]["id"] == "d1"
    [trace] = [store.trace(TRACE)]
    assert [s["Id"] for s in trace["Segments"]] == ["f1"]
    assert json.loads(trace["Segments"][0]["Document"])["subsegments"][1]["id"] == "h1"
    assert trace["Duration"] == pytest.approx(0.5)


def test_subsegments_of_a_reused_facade_move_to_their_own_invocation():
    """aws-xray-sdk keeps the first facade segment while the Root is unchanged (a retry in the
    same execution on a warm worker): its subsegments must still land in their invocation."""
    store = TraceStore()
    store.put(segment("f1", 1.0, 1.1, name="SaveFn", origin="AWS::Lambda::Function"))
    store.put(segment("f2", 2.0, 2.1, name="SaveFn", origin="AWS::Lambda::Function"))
    store.put(sub("late", "f1", 2.02, 2.08, name="## save"))  # names f1, ran during f2
    by_id = {s["id"]: s for s in store.segments(TRACE)}
    assert "subsegments" not in by_id["f1"]
    assert [s["id"] for s in by_id["f2"]["subsegments"]] == ["late"]


def test_summaries_annotations_flags_and_filters():
    store = TraceStore()
    store.put(
        segment("root", 100.0, 101.0, name="Machine", origin="AWS::StepFunctions::StateMachine")
    )
    store.put(sub("h", "root", 100.2, 100.4, annotations={"message_id": "m-1", "n": 3}, fault=True))
    [summary] = store.summaries(99, 102)
    assert summary["Id"] == TRACE and summary["Duration"] == pytest.approx(1.0)
    assert summary["HasFault"] and not summary["HasError"]
    assert summary["Annotations"]["message_id"][0]["AnnotationValue"] == {"StringValue": "m-1"}
    assert summary["ServiceIds"][0]["Type"] == "AWS::StepFunctions::StateMachine"
    assert store.summaries(99, 102, 'annotation.message_id = "m-1"')
    assert not store.summaries(99, 102, 'annotation.message_id = "m-2"')
    assert store.summaries(99, 102, 'annotation.message_id != "m-2" AND fault')
    assert store.summaries(99, 102, "annotation.n = 3")
    assert store.summaries(99, 102, 'service("Machine")')
    assert not store.summaries(99, 102, "ok")
    assert not store.summaries(200, 300)
    with pytest.raises(SegmentError):
        parse_filter("responsetime > 5")


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        {"trace_id": TRACE, "name": "x", "start_time": 1, "end_time": 2},  # no id
        {"id": "a", "trace_id": TRACE, "name": "x", "start_time": 1},  # no end, not in progress
        {
            "id": "a",
            "trace_id": TRACE,
            "name": "x",
            "start_time": 1,
            "end_time": 2,
            "type": "subsegment",
        },
    ],
)
def test_invalid_documents_are_rejected(document):
    with pytest.raises(SegmentError):
        TraceStore().put(document)


def test_api_handler_shapes():
    xray = LocalXRay()
    out = xray.handle(
        "/TraceSegments",
        {"TraceSegmentDocuments": [json.dumps(segment("s1", 5.0, 6.0)), "{broken"]},
    )
    assert len(out["UnprocessedTraceSegments"]) == 1
    assert out["UnprocessedTraceSegments"][0]["ErrorCode"] == "InvalidDocument"
    summaries = xray.handle("/TraceSummaries", {"StartTime": 0, "EndTime": 10})
    assert [s["Id"] for s in summaries["TraceSummaries"]] == [TRACE]
    traces = xray.handle("/Traces", {"TraceIds": [TRACE, "1-00000000-000000000000000000000000"]})
    assert len(traces["Traces"]) == 1 and len(traces["UnprocessedTraceIds"]) == 1
    graph = xray.handle("/TraceGraph", {"TraceIds": [TRACE]})
    assert graph["Services"][0]["Name"] == "fn"


def test_daemon_receives_sdk_datagrams():
    store = TraceStore()
    daemon = XRayDaemon(store).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            body = json.dumps(sub("x1", "p1", 1.0, 2.0))
            sender.sendto(f"{DAEMON_HEADER}\n{body}".encode(), (daemon.host, daemon.port))
            sender.sendto(b'{"format": "json", "version": 1}\nnot json', (daemon.host, daemon.port))
        deadline = time.monotonic() + 5
        while daemon.received + daemon.rejected < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (daemon.received, daemon.rejected) == (1, 1)
        assert store.documents(TRACE)[0]["id"] == "x1"
    finally:
        daemon.stop()


def test_invocation_and_execution_segments():
    xray = LocalXRay("123456789012", "us-east-1")
    record = SimpleNamespace(
        function="stack-SaveFunction-ABC",
        request_id="req-1",
        cold=True,
        init_ms=100.0,
        duration_ms=20.0,
        trace_id=f"Root={TRACE};Parent=aaaaaaaaaaaaaaaa;Sampled=1",
        error_type="DynamoDBSaveError",
        started_at=1000.0,
    )
    xray.on_invocation(record, f"Root={TRACE};Parent=eeeeeeeeeeeeeeee;Sampled=1")
    docs = {d["origin"]: d for d in xray.store.documents(TRACE)}
    service, function = docs["AWS::Lambda"], docs["AWS::Lambda::Function"]
    assert service["parent_id"] == "eeeeeeeeeeeeeeee"
    assert function["id"] == "aaaaaaaaaaaaaaaa" and function["parent_id"] == service["id"]
    assert [s["name"] for s in function["subsegments"]] == ["Initialization", "Invocation"]
    assert function["fault"] and service["error"]
    assert function["end_time"] == pytest.approx(1000.12)

    stamp = dt.datetime.fromtimestamp
    params = json.dumps(
        {"FunctionName": "arn:aws:lambda:us-east-1:1:function:stack-SaveFunction-ABC"}
    )
    events = [
        {"type": "ExecutionStarted", "timestamp": stamp(999.99, dt.UTC)},
        {
            "type": "MapStateEntered",
            "timestamp": stamp(999.99, dt.UTC),
            "stateEnteredEventDetails": {"name": "ProcessBatch"},
        },
        {
            "type": "MapIterationStarted",
            "timestamp": stamp(999.99, dt.UTC),
            "mapIterationStartedEventDetails": {"index": 0},
        },
        {
            "type": "TaskStateEntered",
            "timestamp": stamp(999.995, dt.UTC),
            "stateEnteredEventDetails": {"name": "Save"},
        },
        {
            "type": "TaskScheduled",
            "timestamp": stamp(999.995, dt.UTC),
            "taskScheduledEventDetails": {"parameters": params},
        },
        {
            "type": "TaskFailed",
            "timestamp": stamp(1000.2, dt.UTC),
            "taskFailedEventDetails": {"error": "DynamoDBSaveError", "cause": "boom"},
        },
        {"type": "MapIterationFailed", "timestamp": stamp(1000.2, dt.UTC)},
        {"type": "ExecutionFailed", "timestamp": stamp(1000.21, dt.UTC)},
    ]
    execution = SimpleNamespace(
        xray_segment_id="eeeeeeeeeeeeeeee",
        trace_header=f"Root={TRACE};Sampled=1",
        start_date=stamp(999.99, dt.UTC),
        stop_date=stamp(1000.21, dt.UTC),
        exec_status=SimpleNamespace(value="FAILED"),
        exec_arn="arn:aws:states:us-east-1:1:execution:Machine:run-1",
        error="DynamoDBSaveError",
        cause="boom",
        state_machine=SimpleNamespace(
            name="Machine", arn="arn:aws:states:us-east-1:1:stateMachine:Machine"
        ),
        to_history_output=lambda: {"events": events},
    )
    xray.on_execution_end(execution)  # the Lambda segment was under the execution's segment
    docs = {d["origin"]: d for d in xray.store.documents(TRACE)}
    machine = docs["AWS::StepFunctions::StateMachine"]
    assert machine["fault"] and machine["annotations"]["execution_status"] == "FAILED"
    [process_batch] = machine["subsegments"]
    [save] = process_batch["subsegments"]
    assert save["name"] == "Save" and save["error"]
    assert save["metadata"]["state"]["map_iteration"] == 0
    assert docs["AWS::Lambda"]["parent_id"] == save["id"]  # re-parented under its Task state
