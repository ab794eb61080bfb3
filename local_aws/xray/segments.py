"""The segments AWS services record themselves, synthesised for the local trace store.

- Lambda records, per invocation, an `AWS::Lambda` segment (the service; parent: the caller's
  segment) with an `AWS::Lambda::Function` segment under it whose id is the `Parent` of the
  function's `_X_AMZN_TRACE_ID`, so the SDK's subsegments (DynamoDB, SQS, the handler's own) hang
  under it.
- Step Functions with tracing records a segment per execution
  (`AWS::StepFunctions::StateMachine`) with a subsegment per state; the Lambdas a Task invokes are
  children of that state's subsegment. Locally the execution's segment id is the `Parent` of the
  trace header its Lambda invocations get (local_aws/stepfunctions.py); the segment is written
  when the execution terminates, from its history, and each Lambda segment is then re-parented
  under the Task state it ran in.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from local_aws import config as settings
from local_aws.xray.store import TraceStore
from local_aws.xray.trace_header import new_segment_id as new_id
from local_aws.xray.trace_header import trace_parent, trace_root


class SegmentRecorder:
    """Writes the Lambda and Step Functions segments into a TraceStore."""

    def __init__(
        self,
        store: TraceStore,
        account_id: str = settings.DEFAULT_ACCOUNT_ID,
        region: str = settings.DEFAULT_REGION,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.region = region

    # -- Lambda -------------------------------------------------------------------------------
    def on_invocation(self, record: Any, caller_header: str | None) -> None:
        """An `AWS::Lambda` segment and an `AWS::Lambda::Function` segment per invocation."""
        root, function_segment_id = trace_root(record.trace_id), trace_parent(record.trace_id)
        if not root or not function_segment_id or "Sampled=0" in record.trace_id:
            return
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{record.function}"
        start = record.started_at
        init_s = (record.init_ms or 0.0) / 1000
        run_start = start + init_s
        end = run_start + record.duration_ms / 1000
        service_id = new_id()
        service: dict[str, Any] = {
            "id": service_id,
            "trace_id": root,
            "name": record.function,
            "origin": "AWS::Lambda",
            "start_time": start,
            "end_time": end,
            "resource_arn": arn,
            "aws": {"request_id": record.request_id, "account_id": self.account_id},
            "http": {"response": {"status": 200}},
        }
        caller = trace_parent(caller_header)
        if caller:
            service["parent_id"] = caller
        function: dict[str, Any] = {
            "id": function_segment_id,
            "trace_id": root,
            "parent_id": service_id,
            "name": record.function,
            "origin": "AWS::Lambda::Function",
            "start_time": start,
            "end_time": end,
            "resource_arn": arn,
            "aws": {
                "account_id": self.account_id,
                "function_arn": arn,
                "resource_names": [record.function],
                "request_id": record.request_id,
                "cold_start": record.cold,
            },
            "subsegments": [],
        }
        if record.cold and record.init_ms is not None:
            function["subsegments"].append(
                {
                    "id": new_id(),
                    "name": "Initialization",
                    "start_time": start,
                    "end_time": run_start,
                }
            )
        invocation: dict[str, Any] = {
            "id": new_id(),
            "name": "Invocation",
            "start_time": run_start,
            "end_time": end,
        }
        if record.error_type:
            function["fault"] = invocation["fault"] = True
            function["cause"] = {"exceptions": [{"id": new_id(), "type": record.error_type}]}
            service["error"] = True
        function["subsegments"].append(invocation)
        self.store.put(service)
        self.store.put(function)

    # -- Step Functions -----------------------------------------------------------------------
    def on_execution_end(self, execution: Any) -> None:
        """The execution's segment, a subsegment per state; Lambda segments go under their Task."""
        segment_id = getattr(execution, "xray_segment_id", None)
        header = execution.trace_header or ""
        root = trace_root(header)
        if not segment_id or not root or "Sampled=0" in header:
            return
        events = execution.to_history_output().get("events", [])
        start = _epoch(execution.start_date)
        end = _epoch(execution.stop_date) or (_epoch(events[-1]["timestamp"]) if events else start)
        states = _state_spans(events)
        status = str(getattr(execution.exec_status, "value", execution.exec_status))
        segment: dict[str, Any] = {
            "id": segment_id,
            "trace_id": root,
            "name": execution.state_machine.name,
            "origin": "AWS::StepFunctions::StateMachine",
            "start_time": start,
            "end_time": max(end, start),
            "resource_arn": execution.exec_arn,
            "aws": {
                "execution_arn": execution.exec_arn,
                "state_machine_arn": getattr(execution.state_machine, "arn", None),
            },
            "annotations": {"execution_status": status},
            "subsegments": [],
        }
        parent = trace_parent(header)
        if parent:
            segment["parent_id"] = parent
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            segment["fault"] = True
            if execution.error:
                segment["cause"] = {
                    "exceptions": [
                        {"id": new_id(), "type": execution.error, "message": execution.cause or ""}
                    ]
                }
        subsegments = []
        container: dict[str, Any] | None = None  # the Map state holding iteration states
        for span in states:
            sub: dict[str, Any] = {
                "id": new_id(),
                "name": span["name"],
                "start_time": span["start"],
                "end_time": span["end"],
                "metadata": {"state": {"type": span["type"]}},
            }
            if span.get("error"):
                sub["error"] = True
                sub["cause"] = {
                    "exceptions": [
                        {"id": new_id(), "type": span["error"], "message": span.get("cause", "")}
                    ]
                }
            subsegments.append(sub)
            if span.get("iteration") is not None and container is not None:
                sub["metadata"]["state"]["map_iteration"] = span["iteration"]
                container.setdefault("subsegments", []).append(sub)
            else:
                segment["subsegments"].append(sub)
            if span["type"] == "Map":
                container = sub
        self.store.put(segment)
        # Lambda segments invoked by this execution: under the Task state that invoked them.
        tasks = [(s, sub) for s, sub in zip(states, subsegments, strict=True) if s.get("functions")]
        for doc in self.store.documents(root):
            if doc.get("origin") != "AWS::Lambda" or doc.get("parent_id") != segment_id:
                continue
            candidates = [
                (span["start"], sub)
                for span, sub in tasks
                if doc["name"] in span["functions"]
                and span["start"] - 0.002 <= doc["start_time"] <= span["end"] + 0.002
            ]
            if candidates:  # the latest state that invoked this function before it started
                self.store.update(root, doc["id"], parent_id=max(candidates)[1]["id"])


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _state_spans(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(name, type, start, end, error, cause, map iteration) of every state entered."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, dict[str, Any]] = {}
    iteration: int | None = None
    for event in events:
        etype = event.get("type", "")
        when = _epoch(event.get("timestamp"))
        if etype == "MapIterationStarted":
            iteration = int(event["mapIterationStartedEventDetails"].get("index", 0))
        elif etype.startswith("MapIteration"):
            iteration = None
        if etype.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            span = {
                "name": name,
                "type": etype[: -len("StateEntered")],
                "start": when,
                "end": when,
                "iteration": iteration,
            }
            spans.append(span)
            open_spans[name] = span
        elif etype.endswith("StateExited"):
            span = open_spans.pop(event["stateExitedEventDetails"]["name"], None)
            if span is not None:
                span["end"] = when
        elif etype == "TaskScheduled" and spans:
            details = event.get("taskScheduledEventDetails") or {}
            try:
                function = json.loads(details.get("parameters") or "{}").get("FunctionName")
            except (ValueError, AttributeError):
                function = None
            if isinstance(function, str):
                name = function.split(":function:")[-1].split(":")[0]
                spans[-1].setdefault("functions", set()).add(name)
        elif etype == "TaskSucceeded" and spans:  # a retry succeeded: no error on the state
            spans[-1].pop("error", None)
            spans[-1].pop("cause", None)
        elif etype in ("TaskFailed", "TaskTimedOut") and spans:
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails")
            spans[-1]["error"] = (details or {}).get("error", etype)
            spans[-1]["cause"] = (details or {}).get("cause", "")
    last = _epoch(events[-1]["timestamp"]) if events else None
    for span in open_spans.values():
        span["end"] = last
    return spans
