"""The parts of pipeline_tools/runs/ that need no stack: history parsing, outcomes, the
workflow graph and the path taken, log grouping, metrics of a run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline_tools.runs.history import StateStep, TaskAttempt, parse_iterations
from pipeline_tools.runs.outcomes import classify
from pipeline_tools.runs.reader import (
    _belongs,
    _invocations,
    run_metrics,
    taken_path,
    workflow_graph,
)

ROOT = Path(__file__).resolve().parents[3]
ASL = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())


def _t(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(1_800_000_000 + seconds, dt.UTC)


def _history(*states, iteration_end="MapIterationSucceeded"):
    """A Map iteration visiting `states`: (name, type, [task results...]) with results
    "ok" or an error name (caught when the state still exits)."""
    events = [
        {
            "type": "ExecutionStarted",
            "timestamp": _t(0),
            "executionStartedEventDetails": {"input": "[]"},
        },
        {
            "type": "MapIterationStarted",
            "timestamp": _t(0.001),
            "mapIterationStartedEventDetails": {"index": 0},
        },
    ]
    clock = 0.001
    for name, kind, results in states:
        clock += 0.01
        events.append(
            {
                "type": f"{kind}StateEntered",
                "timestamp": _t(clock),
                "stateEnteredEventDetails": {"name": name, "input": "{}"},
            }
        )
        for result in results:
            clock += 0.01
            events.append(
                {
                    "type": "TaskScheduled",
                    "timestamp": _t(clock),
                    "taskScheduledEventDetails": {
                        "resourceType": "lambda",
                        "resource": "invoke",
                        "parameters": "{}",
                    },
                }
            )
            clock += 0.01
            if result == "ok":
                events.append(
                    {
                        "type": "TaskSucceeded",
                        "timestamp": _t(clock),
                        "taskSucceededEventDetails": {"output": "{}"},
                    }
                )
            else:
                cause = json.dumps({"errorMessage": "x", "requestId": f"req-{clock}"})
                events.append(
                    {
                        "type": "TaskFailed",
                        "timestamp": _t(clock),
                        "taskFailedEventDetails": {"error": result, "cause": cause},
                    }
                )
        if kind != "Fail" and not (results and results[-1] != "ok" and name == states[-1][0]):
            clock += 0.001
            events.append(
                {
                    "type": f"{kind}StateExited",
                    "timestamp": _t(clock),
                    "stateExitedEventDetails": {"name": name, "output": "{}"},
                }
            )
    events.append({"type": iteration_end, "timestamp": _t(clock + 0.001)})
    return events


def _steps(events):
    return parse_iterations(events)[0].steps


def test_duplicate_path():
    events = _history(
        ("Validate", "Task", ["ok"]),
        ("CheckIdempotency", "Task", ["ok"]),
        ("IsDuplicate", "Choice", []),
        ("Delete", "Task", ["ok"]),
    )
    iteration = parse_iterations(events)[0]
    assert [s.name for s in iteration.steps] == [
        "Validate",
        "CheckIdempotency",
        "IsDuplicate",
        "Delete",
    ]
    assert all(s.status == "SUCCEEDED" for s in iteration.steps)
    assert iteration.steps[2].next == "Delete"
    assert classify(iteration.steps, iteration.status) == ("duplicate", None)


def test_retries_catches_and_failures():
    events = _history(
        ("Validate", "Task", ["ok"]),
        ("CheckIdempotency", "Task", ["ok"]),
        ("IsDuplicate", "Choice", []),
        ("Save", "Task", ["DynamoDBSaveError", "DynamoDBSaveError", "DynamoDBSaveError"]),
        ("RecordDynamoDBSaveError", "Task", ["ok"]),
        ("FailDynamoDBSave", "Fail", []),
        iteration_end="MapIterationFailed",
    )
    steps = _steps(events)
    save = steps[3]
    assert (save.status, save.error, save.next, save.retries) == (
        "CAUGHT",
        "DynamoDBSaveError",
        "RecordDynamoDBSaveError",
        2,
    )
    assert all(a.request_id for a in save.attempts)
    assert steps[-1].status == "FAILED"
    assert classify(steps, "MapIterationFailed") == ("failed", "DynamoDBSaveError")


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["Validate", "CheckIdempotency", "IsDuplicate", "Save", "Delete"], ("saved", None)),
        (
            ["Validate", "QuarantineMessage", "RecordInvalidMessage", "Delete"],
            ("quarantined", "InvalidMessage"),
        ),
        (
            [
                "Validate",
                "CheckIdempotency",
                "IsDuplicate",
                "Save",
                "Delete",
                "RecordSQSDeleteError",
                "LeaveForPipeDelete",
            ],
            ("left-for-pipe", "SQSDeleteError"),
        ),
    ],
)
def test_outcomes(states, expected):
    caught = {"Validate": "InvalidMessage", "Delete": "SQSDeleteError"}
    steps = []
    for name in states:
        error = caught.get(name) if expected[1] == caught.get(name) else None
        step = StateStep(
            name=name,
            type="Task",
            entered=0,
            exited=1,
            status="CAUGHT" if error else "SUCCEEDED",
            error=error,
        )
        steps.append(step)
    assert classify(steps, "MapIterationSucceeded") == expected
    assert classify(steps, None) == ("running", None)


def test_save_losing_the_race_is_a_duplicate():
    steps = [
        StateStep("Save", "Task", 0, 1, status="CAUGHT", error="DuplicateMessage"),
        StateStep("Delete", "Task", 1, 2),
    ]
    assert classify(steps, "MapIterationSucceeded") == ("duplicate", "DuplicateMessage")


def test_graph_of_the_real_asl():
    graph = workflow_graph(ASL)
    ids = {n["id"] for n in graph["nodes"]}
    inner = ASL["States"]["ProcessBatch"]["ItemProcessor"]["States"]
    assert set(inner) | {"ProcessBatch", "__start__", "__end__"} <= ids
    assert all(n["parent"] == "ProcessBatch" for n in graph["nodes"] if n["id"] in inner)
    kinds = {(e["source"], e["target"]): e["kind"] for e in graph["edges"]}
    assert kinds[("Validate", "QuarantineMessage")] == "catch"
    assert kinds[("IsDuplicate", "Delete")] == "choice"
    assert kinds[("IsDuplicate", "Save")] == "default"
    assert kinds[("__start__", "ProcessBatch::start")] == "next"  # into the Map's box
    assert kinds[("ProcessBatch::end", "__end__")] == "end"
    assert all(e["target"] in ids and e["source"] in ids for e in graph["edges"])


def test_taken_path_of_a_duplicate_and_of_a_failure():
    graph = workflow_graph(ASL)
    by_id = {e["id"]: (e["source"], e["target"]) for e in graph["edges"]}
    steps = [
        {"name": n, "status": "SUCCEEDED", "type": "Task"}
        for n in ("Validate", "CheckIdempotency", "IsDuplicate", "Delete")
    ]
    taken = taken_path(graph, steps, {"status": "SUCCEEDED"})
    pairs = {by_id[e] for e in taken["edges"]}
    assert ("IsDuplicate", "Delete") in pairs and ("IsDuplicate", "Save") not in pairs
    assert ("__start__", "ProcessBatch::start") in pairs and (
        "ProcessBatch::end",
        "__end__",
    ) in pairs
    assert "Save" not in taken["nodes"] and taken["nodes"]["ProcessBatch"] == "SUCCEEDED"

    steps = [
        {"name": "Save", "status": "CAUGHT", "type": "Task"},
        {"name": "RecordDynamoDBSaveError", "status": "SUCCEEDED", "type": "Task"},
        {"name": "FailDynamoDBSave", "status": "FAILED", "type": "Fail"},
    ]
    taken = taken_path(graph, steps, {"status": "FAILED"})
    kinds = {e["id"]: e["kind"] for e in graph["edges"]}
    catch = [e for e in taken["edges"] if by_id[e] == ("Save", "RecordDynamoDBSaveError")]
    assert [kinds[e] for e in catch] == ["catch"]
    assert taken["nodes"]["ProcessBatch"] == "FAILED"
    assert not any(by_id[e][1] in ("ProcessBatch::end", "__end__") for e in taken["edges"])


def test_log_lines_are_grouped_by_invocation_and_matched_by_trace_id():
    def event(ts, message, stream="s1", seq=0):
        return {"timestamp": ts, "message": message, "logStreamName": stream, "eventId": str(seq)}

    events = [
        event(1, "START RequestId: r1 Version: $LATEST", seq=1),
        event(2, json.dumps({"trace_id": "m-1", "action": "message_received"}), seq=2),
        event(2, "[ERROR] boom", seq=3),
        event(3, "REPORT RequestId: r1\tDuration: 1 ms", seq=4),
        event(1, "START RequestId: r2 Version: $LATEST", stream="s2", seq=5),
        event(2, json.dumps({"trace_id": "m-2"}), stream="s2", seq=6),
        event(3, "REPORT RequestId: r2", stream="s2", seq=7),
    ]
    invocations = _invocations(events)
    assert [i["request_id"] for i in invocations] == ["r1", "r2"]
    assert len(invocations[0]["events"]) == 4
    assert _belongs(invocations[0], {"m-1"}, set())
    assert not _belongs(invocations[1], {"m-1"}, set())
    assert _belongs(invocations[1], set(), {"r2"})  # a failed task's requestId


def test_metrics_of_a_run_come_from_emf_lines_and_metric_states():
    emf = {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {
                    "Namespace": "NS",
                    "Dimensions": [[]],
                    "Metrics": [{"Name": "MessagesSaved", "Unit": "Count"}],
                }
            ],
        },
        "MessagesSaved": 1,
    }
    logs = [{"kind": "emf", "message": json.dumps(emf), "function": "Save", "timestamp": 1.0}]
    params = json.dumps(
        {
            "Namespace": "NS",
            "MetricData": [{"MetricName": "InvalidMessages", "Value": 1, "Unit": "Count"}],
        }
    )
    record = StateStep(
        "RecordInvalidMessage",
        "Task",
        0,
        1,
        attempts=[
            TaskAttempt(
                0.5, 0.6, "SUCCEEDED", "aws-sdk:cloudwatch:putMetricData", parameters=params
            )
        ],
    )
    failed = StateStep(
        "RecordDynamoDBSaveError",
        "Task",
        0,
        1,
        attempts=[
            TaskAttempt(0.5, 0.6, "FAILED", "aws-sdk:cloudwatch:putMetricData", parameters=params)
        ],
    )
    metrics = run_metrics([record, failed], logs)
    assert [(m["name"], m["value"], m["namespace"]) for m in metrics] == [
        ("InvalidMessages", 1, "NS"),
        ("MessagesSaved", 1, "NS"),
    ]
