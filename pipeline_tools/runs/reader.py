"""Per-message runs of the pipeline, read only through AWS APIs (works against any endpoint).

A *run* is one message's pass through one execution: one iteration of the `ProcessBatch` Map.
An execution carries one pipe batch (one or more SQS records); a message redelivered after a
failed execution, or sent twice, has several runs. Everything here comes from public APIs:
Step Functions (ListStateMachines, ListExecutions, GetExecutionHistory, DescribeExecution,
DescribeStateMachine), CloudWatch Logs (FilterLogEvents on `/aws/lambda/<function>`), X-Ray
(BatchGetTraces) and CloudWatch (GetMetricData). So `python -m pipeline_tools runs ...` works from
another terminal against `make up`, and the web console's JSON API calls the same functions.

    reader = RunReader.for_endpoint("http://127.0.0.1:4577")
    runs = reader.list_runs(outcome="duplicate", limit=20)       # newest first
    [detail] = [reader.detail(run) for run in reader.find_runs(message_id)]

Outcomes (from the state names, an API of the workflow: docs/contract.md):
`saved` (Save then Delete), `duplicate` (IsDuplicate → Delete, or Save lost the race),
`quarantined` (QuarantineMessage → RecordInvalidMessage → Delete), `left-for-pipe` (stored but
Delete failed: LeaveForPipeDelete), `failed` (the iteration failed: the execution fails and the
pipe redelivers the batch), `not-run` (an earlier record of the batch failed first), `running`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from local_aws import clients
from pipeline_tools.contract import METRIC_NAMES
from pipeline_tools.runs.history import (
    StateStep,
    loads,
    parse_iterations,
)
from pipeline_tools.runs.history import epoch as _epoch
from pipeline_tools.runs.outcomes import classify

STATUSES = ("SUCCEEDED", "FAILED", "RUNNING", "NOT_RUN")
DEFAULT_NAMESPACE = "MessagesPipeline"
PREVIEW_CHARS = 160  # inputs/outputs are cut to this unless full=True
_REPORT_TRACE = re.compile(r"XRAY TraceId: (1-[0-9a-f]{8}-[0-9a-f]{24})")

Clients = Callable[[str], Any]


# ------------------------------------------------------------------------------ data classes


@dataclass
class RunSummary:
    """One message's pass through one execution (a row of `runs list`)."""

    run_id: str  # "<execution name>/<map index>"
    message_id: str | None  # the body's message_id (None when the body has none)
    sqs_message_id: str | None
    group: str | None
    receive_count: int | None
    status: str  # SUCCEEDED | FAILED | RUNNING | NOT_RUN
    outcome: str  # see OUTCOMES
    reason: str | None  # the error behind a quarantine, failure or left-for-pipe
    started: float | None  # epoch seconds
    stopped: float | None
    duration_ms: float | None
    execution_name: str
    execution_arn: str
    execution_status: str
    state_machine_arn: str
    index: int
    batch_size: int
    path: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.message_id or self.sqs_message_id or self.run_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunDetail:
    run: RunSummary
    steps: list[StateStep]
    error: str | None
    cause: str | None
    metrics: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    trace_id: str | None
    trace: list[dict[str, Any]]  # flattened X-Ray tree: depth, name, kind, start, end, ...

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        steps = [s.to_dict() for s in self.steps]
        if not full:
            for step in steps:
                for key in ("input", "output", "cause"):
                    step[key] = preview(step[key])
                for attempt in step["attempts"]:
                    for key in ("output", "parameters", "cause"):
                        attempt[key] = preview(attempt[key])
        return {
            "run": self.run.to_dict(),
            "steps": steps,
            "error": self.error,
            "cause": self.cause if full else preview(self.cause, 400),
            "metrics": self.metrics,
            "logs": self.logs,
            "trace_id": self.trace_id,
            "trace": self.trace,
        }


def preview(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


# ------------------------------------------------------------------------------ history parsing


# ------------------------------------------------------------------------------ the reader


class RunReader:
    """Reads runs, their logs, traces and metrics through AWS APIs (see the module doc)."""

    def __init__(self, clients: Clients, *, state_machine_arn: str | None = None) -> None:
        self._clients_factory = clients
        self._clients: dict[str, Any] = {}
        self.state_machine_arn = state_machine_arn
        self._lock = threading.Lock()
        self._histories: dict[str, list[dict[str, Any]]] = {}  # terminal executions only
        self._descriptions: dict[str, dict[str, Any]] = {}
        self._definitions: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_endpoint(cls, endpoint: str, region: str | None = None, **kwargs: Any) -> RunReader:
        return cls(clients_for_endpoint(endpoint, region), **kwargs)

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:  # creating clients is not thread-safe (the console is threaded)
                client = self._clients.get(service)
                if client is None:
                    client = self._clients[service] = self._clients_factory(service)
        return client

    # -- executions ---------------------------------------------------------------------------
    def state_machines(self) -> list[str]:
        if self.state_machine_arn:
            return [self.state_machine_arn]
        sfn = self.client("stepfunctions")
        arns = []
        for page in sfn.get_paginator("list_state_machines").paginate():
            arns += [m["stateMachineArn"] for m in page["stateMachines"]]
        return arns

    def executions(self) -> Iterable[dict[str, Any]]:
        """Every execution of the state machines, newest first (ListExecutions)."""
        sfn = self.client("stepfunctions")
        items: list[dict[str, Any]] = []
        for arn in self.state_machines():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                items += page["executions"]
        items.sort(key=lambda e: _epoch(e["startDate"]) or 0, reverse=True)
        return items

    def history(self, execution_arn: str, status: str) -> list[dict[str, Any]]:
        cached = self._histories.get(execution_arn)
        if cached is not None:
            return cached
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        if status != "RUNNING":
            with self._lock:
                self._histories[execution_arn] = events
        return events

    def runs_of(self, execution: dict[str, Any]) -> list[RunSummary]:
        """The runs of one execution (one per record of its input), in batch order."""
        arn, status = execution["executionArn"], execution["status"]
        events = self.history(arn, status)
        records: Any = None
        if events and events[0]["type"] == "ExecutionStarted":
            records = loads(events[0].get("executionStartedEventDetails", {}).get("input"))
        if not isinstance(records, list):
            return []  # not a pipe batch: some other state machine
        records = [r for r in records if isinstance(r, dict) and "messageId" in r]
        if not records:
            return []
        iterations = parse_iterations(events)
        runs = []
        for index, record in enumerate(records):
            iteration = iterations.get(index)
            attributes = record.get("attributes") or {}
            body = loads(record.get("body")) if isinstance(record.get("body"), str) else None
            message_id = body.get("message_id") if isinstance(body, dict) else None
            if iteration is None:
                run_status = "RUNNING" if status == "RUNNING" else "NOT_RUN"
                outcome, reason = ("running" if status == "RUNNING" else "not-run"), None
                steps: list[StateStep] = []
                started = stopped = None
            else:
                steps = iteration.steps
                outcome, reason = classify(steps, iteration.status)
                run_status = {
                    "MapIterationSucceeded": "SUCCEEDED",
                    "MapIterationFailed": "FAILED",
                    "MapIterationAborted": "FAILED",
                    None: "RUNNING" if status == "RUNNING" else "FAILED",
                }[iteration.status]
                if iteration.status is None and status != "RUNNING":
                    outcome = "failed"
                    reason = reason or _execution_error(events)
                started, stopped = iteration.started, iteration.stopped
            try:
                receive_count = int(attributes.get("ApproximateReceiveCount"))
            except (TypeError, ValueError):
                receive_count = None
            runs.append(
                RunSummary(
                    run_id=f"{execution['name']}/{index}",
                    message_id=message_id if isinstance(message_id, str) else None,
                    sqs_message_id=record.get("messageId"),
                    group=attributes.get("MessageGroupId"),
                    receive_count=receive_count,
                    status=run_status,
                    outcome=outcome,
                    reason=reason,
                    started=started,
                    stopped=stopped,
                    duration_ms=(
                        round((stopped - started) * 1000, 3)
                        if started is not None and stopped is not None
                        else None
                    ),
                    execution_name=execution["name"],
                    execution_arn=arn,
                    execution_status=status,
                    state_machine_arn=execution.get("stateMachineArn")
                    or arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
                    index=index,
                    batch_size=len(records),
                    path=[s.name for s in steps],
                )
            )
        return runs

    def list_runs(
        self,
        *,
        outcome: str | None = None,
        status: str | None = None,
        group: str | None = None,
        limit: int | None = 50,
    ) -> list[RunSummary]:
        """Runs, newest first (by execution start, then batch order reversed), filtered."""
        out: list[RunSummary] = []
        for execution in self.executions():
            for run in reversed(self.runs_of(execution)):
                if outcome and run.outcome != outcome:
                    continue
                if status and run.status != status.upper():
                    continue
                if group and run.group != group:
                    continue
                out.append(run)
                if limit and len(out) >= limit:
                    return out
        return out

    def find_runs(self, key: str) -> list[RunSummary]:
        """Runs matching a message_id, an SQS message id, an execution name or ARN, or a run id
        (`<execution name>/<index>`); oldest first (the order things happened)."""
        key = key.strip()
        name, _, index = key.rpartition("/") if "/" in key else (key, "", "")
        found: list[RunSummary] = []
        for execution in self.executions():
            if key in (execution["executionArn"], execution["name"]):
                return self.runs_of(execution)
            if index and execution["name"] == name:
                return [r for r in self.runs_of(execution) if str(r.index) == index]
        for execution in self.executions():
            for run in self.runs_of(execution):
                if key in (run.message_id, run.sqs_message_id):
                    found.append(run)
        return sorted(found, key=lambda r: (r.started or 0, r.index))

    def describe(self, execution_arn: str) -> dict[str, Any]:
        cached = self._descriptions.get(execution_arn)
        if cached is not None:
            return cached
        description = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            self._descriptions[execution_arn] = description
        return description

    def definition(self, state_machine_arn: str) -> dict[str, Any]:
        cached = self._definitions.get(state_machine_arn)
        if cached is None:
            described = self.client("stepfunctions").describe_state_machine(
                stateMachineArn=state_machine_arn
            )
            cached = self._definitions[state_machine_arn] = json.loads(described["definition"])
        return cached

    # -- one run ------------------------------------------------------------------------------
    def detail(self, run: RunSummary) -> RunDetail:
        events = self.history(run.execution_arn, run.execution_status)
        iteration = parse_iterations(events).get(run.index)
        steps = iteration.steps if iteration else []
        error = cause = None
        if run.status == "FAILED":
            failing = next((s for s in reversed(steps) if s.error), None)
            error, cause = (failing.error, failing.cause) if failing else (None, None)
            execution_error = _execution_failure(events)
            if execution_error and (error is None or (steps and steps[-1].type == "Fail")):
                error, cause = execution_error
        logs = self.logs(run, steps)
        trace_id = self.trace_id(run, logs)
        return RunDetail(
            run=run,
            steps=steps,
            error=error,
            cause=cause,
            metrics=run_metrics(steps, logs),
            logs=logs,
            trace_id=trace_id,
            trace=self.trace(run, trace_id) if trace_id else [],
        )

    def logs(self, run: RunSummary, steps: list[StateStep]) -> list[dict[str, Any]]:
        """The Lambda log lines of this run: every invocation (START … REPORT) in the run's time
        window whose JSON lines carry its trace_id (the message_id, or the SQS message id before
        the body is parsed), or whose request id a failed task reported."""
        if run.started is None:
            return []
        functions = []
        request_ids = set()
        for step in steps:
            for attempt in step.attempts:
                params = loads(attempt.parameters)
                name = params.get("FunctionName") if isinstance(params, dict) else None
                if isinstance(name, str):
                    name = name.split(":function:")[-1].split(":")[0]
                    if name not in functions:
                        functions.append(name)
                if attempt.request_id:
                    request_ids.add(attempt.request_id)
        keys = {k for k in (run.message_id, run.sqs_message_id) if k}
        start_ms = int(run.started * 1000) - 1
        end_ms = int((run.stopped or time.time()) * 1000) + 2
        logs = self.client("logs")
        lines: list[dict[str, Any]] = []
        for function in functions:
            group = f"/aws/lambda/{function}"
            events: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "startTime": start_ms,
                "endTime": end_ms,
                "interleaved": True,
            }
            try:
                while True:
                    page = logs.filter_log_events(**kwargs)
                    events += page.get("events", [])
                    if not page.get("nextToken"):
                        break
                    kwargs["nextToken"] = page["nextToken"]
            except Exception as exc:  # a missing group must not hide the rest of the run
                if "ResourceNotFound" not in type(exc).__name__ + str(exc):
                    raise
                continue
            for invocation in _invocations(events):
                if _belongs(invocation, keys, request_ids):
                    for event in invocation["events"]:
                        lines.append(_log_line(function, invocation, event))
        lines.sort(key=lambda line: (line["timestamp"], line["seq"]))
        for line in lines:
            line.pop("seq", None)
        return lines

    def trace_id(self, run: RunSummary, logs: list[dict[str, Any]]) -> str | None:
        """The execution's X-Ray trace id: DescribeExecution's traceHeader when the service
        returns it, else the `XRAY TraceId` of the run's Lambda REPORT lines (the Lambdas join
        the execution's trace), else an X-Ray search on the message_id annotation."""
        header = self.describe(run.execution_arn).get("traceHeader")
        if _trace_root(header):
            return _trace_root(header)
        for line in logs:
            match = _REPORT_TRACE.search(line["message"]) if line["kind"] == "platform" else None
            if match:
                return match.group(1)
        if run.message_id and run.started:
            try:
                summaries = self.client("xray").get_trace_summaries(
                    StartTime=dt.datetime.fromtimestamp(run.started - 60, dt.UTC),
                    EndTime=dt.datetime.fromtimestamp((run.stopped or time.time()) + 60, dt.UTC),
                    FilterExpression=f'annotation.message_id = "{run.message_id}"',
                )["TraceSummaries"]
            except Exception:
                return None
            for summary in summaries:
                return summary["Id"]
        return None

    def trace(self, run: RunSummary, trace_id: str) -> list[dict[str, Any]]:
        """The run's part of the execution's X-Ray trace, flattened depth-first."""
        try:
            traces = self.client("xray").batch_get_traces(TraceIds=[trace_id]).get("Traces", [])
        except Exception:  # X-Ray is optional: no trace, not no run
            return []
        documents = [json.loads(s["Document"]) for t in traces for s in t.get("Segments", [])]
        return run_trace(documents, run)

    # -- metrics ------------------------------------------------------------------------------
    def namespace(self) -> str:
        """The pipeline's metrics namespace: the one holding its metric names (ListMetrics)."""
        cloudwatch = self.client("cloudwatch")
        for name in METRIC_NAMES:
            metrics = cloudwatch.list_metrics(MetricName=name).get("Metrics", [])
            if metrics:
                return metrics[0]["Namespace"]
        return DEFAULT_NAMESPACE

    def metric_series(
        self, *, namespace: str | None = None, minutes: int = 60, period: int = 60
    ) -> dict[str, Any]:
        """The 8 metrics' sums per `period` seconds over the last `minutes` (GetMetricData)."""
        namespace = namespace or self.namespace()
        period = max(1, int(period))
        now = time.time()
        end = (int(now) // period + 1) * period
        start = end - max(period, int(minutes) * 60)
        queries = [
            {
                "Id": f"m{i}",
                "Label": name,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": name},
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for i, name in enumerate(METRIC_NAMES)
        ]
        response = self.client("cloudwatch").get_metric_data(
            MetricDataQueries=queries,
            StartTime=dt.datetime.fromtimestamp(start, dt.UTC),
            EndTime=dt.datetime.fromtimestamp(end, dt.UTC),
            ScanBy="TimestampAscending",
        )
        slots = list(range(start, end, period))
        series: dict[str, list[float]] = {name: [0.0] * len(slots) for name in METRIC_NAMES}
        for result in response.get("MetricDataResults", []):
            name = METRIC_NAMES[int(result["Id"][1:])]
            for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []),
                                    strict=False):  # fmt: skip
                slot = (int(_epoch(stamp) or 0) - start) // period
                if 0 <= slot < len(slots):
                    series[name][slot] += value
        return {
            "namespace": namespace,
            "period": period,
            "start": start,
            "end": end,
            "timestamps": slots,
            "series": series,
            "totals": {name: sum(values) for name, values in series.items()},
        }


def _execution_failure(events: list[dict[str, Any]]) -> tuple[str, str] | None:
    for event in reversed(events):
        if event["type"] in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            key = event["type"][0].lower() + event["type"][1:] + "EventDetails"
            details = event.get(key) or {}
            return details.get("error") or event["type"], details.get("cause") or ""
    return None


def _execution_error(events: list[dict[str, Any]]) -> str | None:
    failure = _execution_failure(events)
    return failure[0] if failure else None


def _trace_root(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and value:
            return value
    return None


# ------------------------------------------------------------------------------ logs


def _invocations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group log events into invocations per stream (START RequestId … REPORT RequestId)."""
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_stream.setdefault(event.get("logStreamName", ""), []).append(event)
    out = []
    for stream, stream_events in by_stream.items():
        current: dict[str, Any] | None = None
        for event in sorted(stream_events, key=lambda e: (e["timestamp"], _event_seq(e))):
            message = event.get("message", "")
            if message.startswith("START RequestId:"):
                current = {
                    "stream": stream,
                    "request_id": message.split()[2],
                    "events": [],
                }
                out.append(current)
            if current is None:
                current = {"stream": stream, "request_id": None, "events": []}
                out.append(current)
            current["events"].append(event)
            if message.startswith("REPORT RequestId:"):
                current = None
    return out


def _event_seq(event: dict[str, Any]) -> int:
    try:
        return int(event.get("eventId", 0))
    except (TypeError, ValueError):
        return 0


def _belongs(invocation: dict[str, Any], keys: set[str], request_ids: set[str]) -> bool:
    if invocation["request_id"] and invocation["request_id"] in request_ids:
        return True
    for event in invocation["events"]:
        data = loads(event.get("message"))
        if isinstance(data, dict) and (
            data.get("trace_id") in keys or data.get("message_id") in keys
        ):
            return True
    return False


def _log_line(function: str, invocation: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    message = event.get("message", "")
    data = loads(message)
    kind = "text"
    if isinstance(data, dict):
        kind = "emf" if "_aws" in data else "json"
    elif message.startswith(("START RequestId", "END RequestId", "REPORT RequestId")):
        kind = "platform"
    return {
        "timestamp": event["timestamp"] / 1000,
        "function": function,
        "stream": invocation["stream"],
        "request_id": invocation["request_id"],
        "kind": kind,
        "message": message,
        "seq": _event_seq(event),
    }


# ------------------------------------------------------------------------------ metrics of a run


def run_metrics(steps: list[StateStep], logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The metrics a run emitted: EMF lines of its Lambdas, and the Record… states'
    putMetricData calls that succeeded."""
    out: list[dict[str, Any]] = []
    for line in logs:
        if line["kind"] != "emf":
            continue
        data = json.loads(line["message"])
        for directive in data["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                name = metric.get("Name")
                out.append(
                    {
                        "name": name,
                        "value": data.get(name),
                        "unit": metric.get("Unit"),
                        "namespace": directive.get("Namespace"),
                        "source": f"EMF log line ({line['function']})",
                        "timestamp": line["timestamp"],
                    }
                )
    for step in steps:
        for attempt in step.attempts:
            if "putMetricData" not in (attempt.resource or "") or attempt.status != "SUCCEEDED":
                continue
            params = loads(attempt.parameters) or {}
            for datum in params.get("MetricData") or []:
                out.append(
                    {
                        "name": datum.get("MetricName"),
                        "value": datum.get("Value"),
                        "unit": datum.get("Unit"),
                        "namespace": params.get("Namespace"),
                        "source": f"PutMetricData ({step.name})",
                        "timestamp": attempt.ended,
                    }
                )
    return sorted(out, key=lambda m: m["timestamp"] or 0)


# ------------------------------------------------------------------------------ X-Ray


def run_trace(documents: list[dict[str, Any]], run: RunSummary) -> list[dict[str, Any]]:
    """The run's entities of an execution trace, as a depth-first list.

    Segments are linked to their parents by parent_id (which may be a subsegment of another
    segment). The execution's segment keeps only the state subsegments of this run (its Map
    iteration); Lambda segments outside the run's time window are other runs of the batch."""
    if run.started is None:
        return []
    lo, hi = run.started - 0.005, (run.stopped or time.time()) + 0.005
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []

    def node(entity: dict[str, Any], kind: str) -> dict[str, Any]:
        item = {"entity": entity, "kind": kind, "children": []}
        nodes[entity["id"]] = item
        for child in entity.get("subsegments") or []:
            item["children"].append(node(child, "subsegment"))
        return item

    segments = [node(doc, "segment") for doc in documents]
    for item in segments:
        parent = nodes.get(item["entity"].get("parent_id") or "")
        (parent["children"] if parent else roots).append(item)

    def in_run(item: dict[str, Any]) -> bool:
        """A state of this run's Map iteration, or anything overlapping the run's window."""
        entity = item["entity"]
        state = (entity.get("metadata") or {}).get("state") or {}
        if "map_iteration" in state:
            return state["map_iteration"] == run.index
        start = entity.get("start_time", 0)
        return start <= hi and entity.get("end_time", start) >= lo

    out: list[dict[str, Any]] = []

    def emit(item: dict[str, Any], depth: int, in_execution: bool) -> None:
        entity = item["entity"]
        children = sorted(item["children"], key=lambda c: c["entity"].get("start_time", 0))
        if in_execution:
            children = [c for c in children if in_run(c)]
        start, end = entity.get("start_time"), entity.get("end_time")
        aws = entity.get("aws") or {}
        out.append(
            {
                "depth": depth,
                "id": entity["id"],
                "name": entity.get("name"),
                "origin": entity.get("origin"),
                "kind": item["kind"],
                "namespace": entity.get("namespace"),
                "operation": aws.get("operation"),
                "start": start,
                "end": end,
                "duration_ms": round((end - start) * 1000, 3) if start and end else None,
                "error": bool(entity.get("error")),
                "fault": bool(entity.get("fault")),
                "throttle": bool(entity.get("throttle")),
                "annotations": entity.get("annotations") or {},
                "http_status": ((entity.get("http") or {}).get("response") or {}).get("status"),
                "cause": _first_exception(entity),
            }
        )
        for child in children:
            # below the execution's segment: its state subsegments (not the Lambda segments)
            emit(child, depth + 1, in_execution and child["kind"] == "subsegment")

    for item in sorted(roots, key=lambda r: r["entity"].get("start_time", 0)):
        execution = item["entity"].get("origin") == "AWS::StepFunctions::StateMachine"
        if execution or in_run(item):
            emit(item, 0, execution)
    return out


def _first_exception(entity: dict[str, Any]) -> str | None:
    cause = entity.get("cause")
    if not isinstance(cause, dict):
        return None
    for exception in cause.get("exceptions") or []:
        text = exception.get("type") or ""
        if exception.get("message"):
            text += f": {exception['message']}"
        return preview(text, 200)
    return None


# ------------------------------------------------------------------------------ workflow graph


def workflow_graph(definition: dict[str, Any]) -> dict[str, Any]:
    """Nodes and edges of an ASL definition, for drawing it (like the Step Functions console).

    Nodes: `Start`, `End`, every state (Map/Parallel states are compound nodes holding their
    branch's states, with the branch's own start/end markers). Edges: `next`, `choice`,
    `default` and `catch` (labelled with the errors it catches)."""
    nodes: list[dict[str, Any]] = [
        {"id": "__start__", "label": "Start", "type": "Start", "parent": None},
        {"id": "__end__", "label": "End", "type": "End", "parent": None},
    ]
    edges: list[dict[str, Any]] = []

    def add_scope(states: dict[str, Any], start_at: str, parent: str | None) -> None:
        start_id = "__start__" if parent is None else f"{parent}::start"
        end_id = "__end__" if parent is None else f"{parent}::end"
        if parent is not None:
            nodes.append({"id": start_id, "label": "", "type": "BranchStart", "parent": parent})
            nodes.append({"id": end_id, "label": "", "type": "BranchEnd", "parent": parent})
        edges.append(_edge(start_id, start_at, "next"))
        for name, state in states.items():
            kind = state.get("Type", "")
            nodes.append(
                {
                    "id": name,
                    "label": name,
                    "type": kind,
                    "parent": parent,
                    "resource": state.get("Resource"),
                }
            )
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if kind == "Map" and processor:
                add_scope(processor.get("States", {}), processor.get("StartAt"), name)
            for index, branch in enumerate(state.get("Branches") or []):
                branch_id = f"{name}::branch{index}"
                nodes.append({"id": branch_id, "label": "", "type": "Branch", "parent": name})
                add_scope(branch.get("States", {}), branch.get("StartAt"), branch_id)
            if state.get("Next"):
                edges.append(_edge(name, state["Next"], "next"))
            if state.get("End") or kind in ("Succeed", "Fail"):
                edges.append(_edge(name, end_id, "end"))
            for choice in state.get("Choices") or []:
                edges.append(_edge(name, choice["Next"], "choice", _choice_label(choice)))
            if state.get("Default"):
                edges.append(_edge(name, state["Default"], "default", "Default"))
            for catch in state.get("Catch") or []:
                errors = ", ".join(catch.get("ErrorEquals", []))
                edges.append(_edge(name, catch["Next"], "catch", errors))

    add_scope(definition.get("States", {}), definition.get("StartAt"), None)
    # Edges into and out of a Map state attach to its branch's start/end markers, so the layout
    # ranks the box between its neighbours (a layered layout does not rank compound nodes).
    maps = {n["id"] for n in nodes if n["type"] == "Map"}
    for index, edge in enumerate(edges):
        source = f"{edge['source']}::end" if edge["source"] in maps else edge["source"]
        target = f"{edge['target']}::start" if edge["target"] in maps else edge["target"]
        if (source, target) != (edge["source"], edge["target"]):
            edges[index] = _edge(source, target, edge["kind"], edge["label"])
    seen = set()
    unique = []
    for edge in edges:
        if edge["id"] not in seen:
            seen.add(edge["id"])
            unique.append(edge)
    return {"nodes": nodes, "edges": unique}


def _edge(source: str, target: str, kind: str, label: str = "") -> dict[str, Any]:
    return {
        "id": f"{source}->{target}:{kind}:{label}",
        "source": source,
        "target": target,
        "kind": kind,
        "label": label,
    }


def _choice_label(choice: dict[str, Any]) -> str:
    for key, value in choice.items():
        if key in ("Next", "Variable"):
            continue
        variable = choice.get("Variable", "")
        return f"{variable.removeprefix('$.')} {key} {json.dumps(value)}".strip()
    return "choice"


def taken_path(graph: dict[str, Any], steps: list[dict[str, Any]], run: dict[str, Any]) -> dict:
    """Which nodes and edges of `graph` one run took (ids), and each node's status."""
    node_ids = {n["id"] for n in graph["nodes"]}
    parents = {n["id"]: n["parent"] for n in graph["nodes"]}
    types = {n["id"]: n["type"] for n in graph["nodes"]}
    status: dict[str, str] = {}
    visited: list[str] = []
    for step in steps:
        if step["name"] in node_ids:
            visited.append(step["name"])
            status[step["name"]] = step["status"]
    edges: set[str] = set()
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for edge in graph["edges"]:
        by_pair.setdefault((edge["source"], edge["target"]), []).append(edge)
    step_by_name = {s["name"]: s for s in steps}

    def pick(source: str, target: str) -> None:
        candidates = by_pair.get((source, target), [])
        if not candidates:
            return
        step = step_by_name.get(source)
        caught = step is not None and step["status"] == "CAUGHT"
        preferred = [e for e in candidates if (e["kind"] == "catch") == caught] or candidates
        edges.add(preferred[0]["id"])

    if visited:
        first_parent = parents.get(visited[0])
        start = "__start__" if first_parent is None else f"{first_parent}::start"
        pick(start, visited[0])
        containers = _ancestors(visited[0], parents, types)
        for container in containers:
            status.setdefault(container, "RUNNING" if run["status"] == "RUNNING" else "SUCCEEDED")
            grand = parents.get(container)
            pick("__start__" if grand is None else f"{grand}::start", f"{container}::start")
            status[f"{container}::start"] = "SUCCEEDED"
        if containers or first_parent is None:
            status["__start__"] = "SUCCEEDED"
        for source, target in itertools.pairwise(visited):
            pick(source, target)
        last = visited[-1]
        if run["status"] == "SUCCEEDED":  # a failed run never reaches an end
            parent = parents.get(last)
            end = "__end__" if parent is None else f"{parent}::end"
            pick(last, end)
            if parent is not None:
                status[end] = "SUCCEEDED"
            for container in _ancestors(last, parents, types):
                grand = parents.get(container)
                pick(f"{container}::end", "__end__" if grand is None else f"{grand}::end")
            status["__end__"] = "SUCCEEDED"
        if run["status"] == "FAILED":
            for container in _ancestors(last, parents, types):
                status[container] = "FAILED"
    return {"nodes": status, "edges": sorted(edges)}


def _ancestors(node: str, parents: dict[str, str | None], types: dict[str, str]) -> list[str]:
    """The Map/Parallel states around a state, innermost first."""
    out = []
    parent = parents.get(node)
    while parent:
        if types.get(parent) != "Branch":
            out.append(parent)
        parent = parents.get(parent)
    return out


# ------------------------------------------------------------------------------ clients


def clients_for_endpoint(endpoint: str, region: str | None = None) -> Clients:
    """boto3 clients for an endpoint (local_aws/clients.py): short timeouts, no retries."""
    import boto3

    session = boto3.session.Session()

    def make(service: str) -> Any:
        return clients.client(
            service,
            endpoint,
            region=region,
            session=session,
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )

    return make
