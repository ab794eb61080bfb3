"""What happened to each message sent through the stack, read only through public AWS APIs.

Used by `python -m pipeline_tools run` (the per-message report) and by the integration tests.
Nothing here looks inside the emulator: outcomes come from the table (GetItem), the dead-letter
queue (drained into memory: see `dead_letters`), the executions
(ListExecutions/DescribeExecution/GetExecutionHistory) and the queue's attributes.

A message is *terminal* when its outcome is known from the data (stored, duplicate of a stored
item, quarantined in the DLQ with a reason, or redriven to the DLQ), no execution that carries it
is still running, and the source queue holds nothing in flight or waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline_tools.contract import METRIC_NAMES
from pipeline_tools.runs.history import parse_iterations


@dataclass
class SentMessage:
    group: str
    body: str
    sqs_message_id: str
    dedup_id: str
    sent_at: float  # epoch seconds
    label: str = ""
    message_id: str | None = None  # the body's message_id, when the body has one

    def __hash__(self) -> int:
        return hash(self.sqs_message_id)


@dataclass
class Attempt:
    """One execution's handling of one message (one Map iteration)."""

    execution_arn: str
    status: str  # the execution's status
    started: float
    stopped: float | None
    states: list[str] = field(default_factory=list)  # state names entered, in order
    task_attempts: dict[str, int] = field(default_factory=dict)  # state -> TaskScheduled count
    iteration_status: str | None = None  # MapIterationSucceeded/Failed/Aborted, None if not run

    def path(self) -> str:
        if not self.states:
            return "(not reached: an earlier record of the batch failed)"
        names = [
            f"{s}x{self.task_attempts[s]}" if self.task_attempts.get(s, 1) > 1 else s
            for s in self.states
        ]
        return " > ".join(names)


@dataclass
class Outcome:
    message: SentMessage
    kind: str  # stored | duplicate | quarantined | dead-lettered | pending
    reason: str | None = None  # DLQ reason attribute (quarantined)
    reason_detail: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    terminal: bool = False
    item: dict[str, Any] | None = None  # the DynamoDB item (stored/duplicate), low-level format
    dlq_message: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        base = {
            "quarantined": f"quarantined({self.reason})",
            "dead-lettered": f"dead-lettered(after {len(self.attempts)} attempts)",
        }.get(self.kind, self.kind)
        failed = sum(1 for a in self.attempts if a.status != "SUCCEEDED")
        if failed and self.kind not in ("dead-lettered", "pending"):
            return "failed→redelivered→" * failed + base
        return base

    @property
    def states_taken(self) -> str:
        return " | ".join(a.path() for a in self.attempts) or "-"

    @property
    def finished_at(self) -> float | None:
        stops = [a.stopped for a in self.attempts if a.stopped is not None]
        return max(stops) if stops else None

    @property
    def duration_s(self) -> float | None:
        end = self.finished_at
        return None if end is None else max(0.0, end - self.message.sent_at)


class StackObserver:
    """Sends messages to the stack's queue and reports what became of them."""

    def __init__(
        self,
        clients: Callable[[str], Any],
        *,
        queue_url: str,
        dead_letter_queue_url: str,
        table_name: str,
        state_machine_arn: str,
        metrics_namespace: str,
    ) -> None:
        self.sqs = clients("sqs")
        self.ddb = clients("dynamodb")
        self.sfn = clients("stepfunctions")
        self.cloudwatch = clients("cloudwatch")
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self.table_name = table_name
        self.state_machine_arn = state_machine_arn
        self.metrics_namespace = metrics_namespace
        self._lock = threading.Lock()
        self._executions: dict[str, dict[str, Any]] = {}  # arn -> cached description + history
        self._by_message: dict[str, list[tuple[str, int]]] = {}  # sqs id -> [(arn, index)]
        self._dlq_cache: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_stack(cls, stack: Any) -> StackObserver:
        """From a local_aws.deploy.DeployedStack (logical ids from docs/contract.md)."""
        return cls(
            stack.client,
            queue_url=stack.ref("MessagesQueue"),
            dead_letter_queue_url=stack.ref("MessagesDeadLetterQueue"),
            table_name=stack.ref("MessagesTable"),
            state_machine_arn=stack.ref("PipelineStateMachine"),
            metrics_namespace=stack.parameters["MetricsNamespace"],
        )

    # ------------------------------------------------------------------ sending

    def send(
        self,
        body: str,
        group: str,
        *,
        label: str = "",
        dedup_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> SentMessage:
        dedup_id = dedup_id or uuid.uuid4().hex
        kwargs: dict[str, Any] = {}
        if attributes:
            kwargs["MessageAttributes"] = attributes
        sent_at = time.time()
        response = self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id,
            **kwargs,
        )
        return SentMessage(
            group=group,
            body=body,
            sqs_message_id=response["MessageId"],
            dedup_id=dedup_id,
            sent_at=sent_at,
            label=label,
            message_id=body_message_id(body),
        )

    # ------------------------------------------------------------------ reading

    def queue_depth(self) -> dict[str, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {
            "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        }

    def refresh_executions(self) -> None:
        """Learn new executions and finish the ones that were running (cached once terminal)."""
        with self._lock:
            running = [a for a, e in self._executions.items() if e["status"] == "RUNNING"]
            for arn in running:
                self._load_execution(arn)
            paginator = self.sfn.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=self.state_machine_arn):
                new = [e for e in page["executions"] if e["executionArn"] not in self._executions]
                for summary in new:
                    self._load_execution(summary["executionArn"])
                if not new:
                    break  # newest first: an all-known page means the rest is known too

    def _load_execution(self, arn: str) -> None:
        description = self.sfn.describe_execution(executionArn=arn)
        status = description["status"]
        known = arn in self._executions
        entry = {
            "status": status,
            "started": description["startDate"].timestamp(),
            "stopped": description["stopDate"].timestamp() if description.get("stopDate") else None,
            "iterations": {},
        }
        if not known:
            try:
                records = json.loads(description.get("input") or "[]")
            except ValueError:
                records = []
            for index, record in enumerate(records if isinstance(records, list) else []):
                if isinstance(record, dict) and "messageId" in record:
                    self._by_message.setdefault(record["messageId"], []).append((arn, index))
        if status != "RUNNING":
            entry["iterations"] = parse_iterations(self._history(arn))
        self._executions[arn] = entry

    def _history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def attempts(self, message: SentMessage) -> list[Attempt]:
        out = []
        with self._lock:
            for arn, index in self._by_message.get(message.sqs_message_id, []):
                entry = self._executions[arn]
                iteration = entry["iterations"].get(index)
                steps = iteration.steps if iteration is not None else []
                task_attempts: dict[str, int] = {}
                for step in steps:
                    if step.attempts:
                        task_attempts[step.name] = task_attempts.get(step.name, 0) + len(
                            step.attempts
                        )
                out.append(
                    Attempt(
                        execution_arn=arn,
                        status=entry["status"],
                        started=entry["started"],
                        stopped=entry["stopped"],
                        states=[step.name for step in steps],
                        task_attempts=task_attempts,
                        iteration_status=iteration.status if iteration is not None else None,
                    )
                )
        return sorted(out, key=lambda a: a.started)

    def dead_letters(self) -> dict[str, dict[str, Any]]:
        """Every message that reached the DLQ so far, by its own MessageId.

        The DLQ is FIFO: it hands out no more messages of a group while earlier ones of that
        group are in flight, so it cannot be listed without deleting. The observer therefore
        drains it (ReceiveMessage + DeleteMessageBatch) into memory and answers from there; while
        an observer is in use, read dead letters from it rather than from the queue."""
        with self._lock:
            while True:
                messages = self.sqs.receive_message(
                    QueueUrl=self.dead_letter_queue_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=30,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    self._dlq_cache[m["MessageId"]] = m
                self.sqs.delete_message_batch(
                    QueueUrl=self.dead_letter_queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
            return dict(self._dlq_cache)

    def item(self, message_id: str) -> dict[str, Any] | None:
        return self.ddb.get_item(
            TableName=self.table_name, Key={"message_id": {"S": message_id}}, ConsistentRead=True
        ).get("Item")

    def outcomes(self, messages: Iterable[SentMessage]) -> list[Outcome]:
        # Order matters: read the results (queue, DLQ, items) first and the executions last, so
        # an execution that produced a result seen here is already listed (running or finished).
        messages = list(messages)
        queue_idle = not any(self.queue_depth().values())
        dlq = self.dead_letters()
        quarantined = {}
        for m in dlq.values():
            source = (m.get("MessageAttributes") or {}).get("source_message_id", {})
            if source.get("StringValue"):
                quarantined[source["StringValue"]] = m
        results = []
        for message in messages:
            outcome = Outcome(message=message, kind="pending")
            if message.sqs_message_id in quarantined:
                dlq_message = quarantined[message.sqs_message_id]
                attrs = dlq_message.get("MessageAttributes") or {}
                outcome.kind = "quarantined"
                outcome.dlq_message = dlq_message
                outcome.reason = attrs.get("reason", {}).get("StringValue")
                outcome.reason_detail = attrs.get("reason_detail", {}).get("StringValue")
            elif message.sqs_message_id in dlq:
                outcome.kind = "dead-lettered"
                outcome.dlq_message = dlq[message.sqs_message_id]
            elif message.message_id is not None:
                outcome.item = self.item(message.message_id)
            results.append(outcome)
        self.refresh_executions()
        for outcome in results:
            message = outcome.message
            outcome.attempts = self.attempts(message)
            running = any(a.status == "RUNNING" for a in outcome.attempts)
            if outcome.item is not None and outcome.kind == "pending":
                stored_by = outcome.item.get("sqs_message_id", {}).get("S")
                if stored_by == message.sqs_message_id:
                    outcome.kind = "stored"
                elif any(_handled(a) for a in outcome.attempts):
                    outcome.kind = "duplicate"
            if outcome.kind == "dead-lettered":
                # (a message can be redriven without any execution: failed invocations)
                outcome.terminal = not running
            else:
                outcome.terminal = (
                    outcome.kind != "pending"
                    and bool(outcome.attempts)
                    and not running
                    and queue_idle
                )
        return results

    def wait_until_terminal(
        self,
        messages: Iterable[SentMessage],
        *,
        timeout: float = 60.0,
        interval: float = 0.2,
        progress: Callable[[list[Outcome], dict[str, int]], None] | None = None,
    ) -> list[Outcome]:
        messages = list(messages)
        deadline = time.monotonic() + timeout
        while True:
            outcomes = self.outcomes(messages)
            if progress is not None:
                progress(outcomes, self.queue_depth())
            if all(o.terminal for o in outcomes):
                return outcomes
            if time.monotonic() > deadline:
                pending = [(o.message.label or o.message.sqs_message_id, o.kind) for o in outcomes]
                raise TimeoutError(f"not terminal after {timeout} s: {pending}")
            time.sleep(interval)

    # ------------------------------------------------------------------ metrics

    def metric_sums(self, since: float | None = None) -> dict[str, float]:
        """Sum of each pipeline metric (GetMetricStatistics) since `since` (default: a day)."""
        end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        start = (
            dt.datetime.fromtimestamp(since, dt.UTC)
            if since is not None
            else end - dt.timedelta(days=1)
        )
        sums = {}
        for name in METRIC_NAMES:
            points = self.cloudwatch.get_metric_statistics(
                Namespace=self.metrics_namespace,
                MetricName=name,
                StartTime=start,
                EndTime=end,
                Period=60,
                Statistics=["Sum"],
            )["Datapoints"]
            sums[name] = sum(p["Sum"] for p in points)
        return sums


def _handled(attempt: Attempt) -> bool:
    """The iteration of this message finished (it was deleted or left for the pipe to delete)."""
    return attempt.iteration_status == "MapIterationSucceeded"


def body_message_id(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("message_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
