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
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from local_aws import clients
from local_aws.stepfunctions.definitions import task_states
from local_aws.xray.trace_header import trace_root
from pipeline_tools.contract import METRIC_NAMES
from pipeline_tools.runs.history import (
    StateStep,
    loads,
    parse_iterations,
)
from pipeline_tools.runs.history import epoch as _epoch
from pipeline_tools.runs.logs import belongs_to_run, group_invocations, log_line
from pipeline_tools.runs.metrics import run_metrics
from pipeline_tools.runs.outcomes import classify
from pipeline_tools.runs.text import preview
from pipeline_tools.runs.trace import run_trace

STATUSES = ("SUCCEEDED", "FAILED", "RUNNING", "NOT_RUN")
DEFAULT_NAMESPACE = "MessagesPipeline"
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
            for invocation in group_invocations(events):
                if belongs_to_run(invocation, keys, request_ids):
                    for event in invocation["events"]:
                        lines.append(log_line(function, invocation, event))
        lines.sort(key=lambda line: (line["timestamp"], line["seq"]))
        for line in lines:
            line.pop("seq", None)
        return lines

    def trace_id(self, run: RunSummary, logs: list[dict[str, Any]]) -> str | None:
        """The execution's X-Ray trace id: DescribeExecution's traceHeader when the service
        returns it, else the `XRAY TraceId` of the run's Lambda REPORT lines (the Lambdas join
        the execution's trace), else an X-Ray search on the message_id annotation."""
        header = self.describe(run.execution_arn).get("traceHeader")
        if trace_root(header):
            return trace_root(header)
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
        """The pipeline's metrics namespace: the one its state machine's PutMetricData states
        publish to (DescribeStateMachine), else the first holding its metric names (ListMetrics).

        Why the definition first: stacks on one endpoint (`make up` beside a chaos run, a test
        session's several stacks) publish the same metric names, each in its own namespace, and
        ListMetrics would return any of them."""
        if self.state_machine_arn:
            try:
                found = _put_metric_namespace(self.definition(self.state_machine_arn))
            except Exception:  # no such state machine, no access: fall back to ListMetrics
                found = None
            if found:
                return found
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


def _put_metric_namespace(definition: dict[str, Any]) -> str | None:
    """The Namespace of the first `cloudwatch:putMetricData` task of a definition."""
    for state in task_states(definition).values():
        if str(state.get("Resource", "")).endswith(":cloudwatch:putMetricData"):
            namespace = (state.get("Parameters") or state.get("Arguments") or {}).get("Namespace")
            if isinstance(namespace, str):
                return namespace
    return None


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


# ------------------------------------------------------------------------------ clients


def clients_for_endpoint(endpoint: str, region: str | None = None) -> Clients:
    """boto3 clients for an endpoint (local_aws/clients.py): short timeouts, no retries."""

    def make(service: str) -> Any:
        return clients.client(
            service,
            endpoint,
            region=region,
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )

    return make
