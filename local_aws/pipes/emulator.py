"""An EventBridge Pipe (SQS source -> Step Functions target) emulated from the template.

What it reproduces (deviations: docs/fidelity.md):
- long-polls the source queue with every system attribute and message attribute,
  `MaxNumberOfMessages` = BatchSize, and accumulates a batch for up to
  MaximumBatchingWindowInSeconds;
- sends the batch as a JSON *array* of SQS records shaped like the Lambda SQS event records
  (`messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`,
  `eventSource`, `eventSourceARN`, `awsRegion`);
- REQUEST_RESPONSE: StartSyncExecution; on SUCCEEDED the batch is deleted (DeleteMessageBatch;
  messages the workflow deleted itself are fine), on FAILED / TIMED_OUT / an invocation error it
  is left on the queue for redelivery (and the queue's redrive policy eventually moves it to the
  DLQ); FIRE_AND_FORGET: StartExecution, deleted once accepted;
- FIFO: at most one batch in flight per message group, batches of different groups in parallel.

Deliberate local deviations:
- Redelivery delay: after a failed batch the messages' visibility is set to
  `redelivery_delay_s` (default 2 s) instead of waiting out the queue's VisibilityTimeout
  (>= 30 min in the template). `redelivery_delay_s=None` keeps the AWS behaviour.

How the group rule is kept: the queue (local_aws/sqs) locks a FIFO group while any of its
messages is in flight, as SQS does, which keeps order across failures and redeliveries. SQS
unlocks a group as soon as its messages are deleted, though, and the workflow deletes each
record itself before its execution ends; so a later message of that group can be received while
its batch is still running. The emulator holds such a message back and sends it once that batch
has finished (SQS's lock guarantees nothing of the batch is left to redeliver by then). It has
one receiver thread, so the held messages keep their order; while batches are in flight the
receiver polls with WaitTimeSeconds=0, woken by each finished batch (or every
`busy_poll_interval_s`) to hand held messages over; idle, it long-polls up to `wait_time_s`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_aws import clients
from local_aws.iam import credentials as iam_credentials

# The attributes of an SQS record as Pipes and Lambda deliver them, in the order AWS shows them
# (docs/contract.md), plus AWSTraceHeader when set.
RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)
SYNC_INVOCATION_LIMIT_S = 300  # a pipe invocation is limited to 5 minutes


@dataclass(frozen=True)
class PipeDefinition:
    """The parts of an AWS::Pipes::Pipe the emulator acts on (resolved from the template)."""

    name: str
    arn: str
    source_arn: str
    target_arn: str
    role_arn: str | None
    batch_size: int
    batching_window_s: int
    invocation_type: str
    desired_state: str
    region: str
    ignored: tuple[str, ...] = ()  # properties present in the template but not emulated

    @classmethod
    def from_properties(
        cls, name: str, arn: str, props: Mapping[str, Any], *, region: str
    ) -> PipeDefinition:
        source = str(props["Source"])
        target = str(props["Target"])
        if not source.startswith("arn:aws:sqs:"):
            raise ValueError(f"pipe {name}: only SQS sources are emulated, got {source}")
        if not target.startswith("arn:aws:states:"):
            raise ValueError(f"pipe {name}: only Step Functions targets are emulated, got {target}")
        sqs_params = (props.get("SourceParameters") or {}).get("SqsQueueParameters") or {}
        target_params = props.get("TargetParameters") or {}
        sfn_params = target_params.get("StepFunctionStateMachineParameters") or {}
        ignored = []
        if (props.get("SourceParameters") or {}).get("FilterCriteria"):
            ignored.append("SourceParameters.FilterCriteria")
        if props.get("Enrichment"):
            ignored.append("Enrichment")
        if target_params.get("InputTemplate"):
            ignored.append("TargetParameters.InputTemplate")
        return cls(
            name=name,
            arn=arn,
            source_arn=source,
            target_arn=target,
            role_arn=props.get("RoleArn"),
            batch_size=int(sqs_params.get("BatchSize", 10)),
            batching_window_s=int(sqs_params.get("MaximumBatchingWindowInSeconds", 0)),
            invocation_type=str(sfn_params.get("InvocationType", "REQUEST_RESPONSE")),
            desired_state=str(props.get("DesiredState", "RUNNING")),
            region=region,
            ignored=tuple(ignored),
        )


@dataclass
class PipeOptions:
    redelivery_delay_s: int | None = 2  # None: wait out the queue's VisibilityTimeout, as AWS
    wait_time_s: int = 20  # WaitTimeSeconds of idle long polls (0..20)
    max_concurrency: int = 4  # batches (hence message groups) in flight at once
    busy_poll_interval_s: float = 0.1


@dataclass(frozen=True)
class BatchResult:
    """One finished batch (passed to the emulator's `on_batch` callback)."""

    message_ids: tuple[str, ...]
    groups: tuple[str, ...]
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED | INVOCATION_ERROR
    seconds: float
    execution_arn: str | None
    error: str | None = None


class PipeCounters:
    """Counters for reports and benchmarks (thread-safe; read with `snapshot()`)."""

    FIELDS = (
        "receives",  # ReceiveMessage calls
        "messages_received",
        "batches",  # batches handed to the target
        "messages_deleted",  # acknowledged by DeleteMessageBatch after a successful batch
        "delete_errors",
        "messages_left_for_redelivery",  # in batches whose execution did not succeed
        "messages_held",  # received while their group still had a batch in flight
        "messages_released",  # made visible again without being sent (at shutdown)
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter = Counter()
        self._executions: Counter = Counter()
        self._execution_seconds = 0.0

    def add(self, name: str, amount: int = 1) -> None:
        if name not in self.FIELDS:
            raise KeyError(name)
        with self._lock:
            self._values[name] += amount

    def execution(self, status: str, seconds: float) -> None:
        with self._lock:
            self._executions[status] += 1
            self._execution_seconds += seconds

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {name: self._values[name] for name in self.FIELDS}
            data["executions"] = dict(self._executions)
            data["execution_seconds"] = round(self._execution_seconds, 3)
        return data


def sqs_record(message: Mapping[str, Any], source_arn: str, region: str) -> dict[str, Any]:
    """One ReceiveMessage result as the pipe hands it to its target (docs/contract.md, "The SQS
    record")."""
    attributes = message.get("Attributes") or {}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(attributes[k]) for k in RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _lambda_style_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }


def _lambda_style_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    out["stringListValues"] = list(value.get("StringListValues") or [])
    out["binaryListValues"] = [
        base64.b64encode(b).decode() for b in value.get("BinaryListValues") or []
    ]
    out["dataType"] = value["DataType"]
    return out


def _group(message: Mapping[str, Any]) -> str | None:
    return (message.get("Attributes") or {}).get("MessageGroupId")


class PipeEmulator:
    """Runs one pipe: a receiver thread plus a pool of batch workers."""

    def __init__(
        self,
        definition: PipeDefinition,
        endpoint_url: str,
        options: PipeOptions | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.definition = definition
        self.on_batch = on_batch
        self.endpoint_url = endpoint_url
        self.options = options or PipeOptions()
        self.counters = PipeCounters()
        # The emulator's own lookups and shortcuts (the queue URL, the local redelivery delay)
        # are not Pipes calls on AWS: they keep full access. Reading the queue and starting the
        # workflow use the pipe role, as Pipes does.
        role = iam_credentials.client_args(
            endpoint_url, definition.region, definition.role_arn, f"pipe-{definition.name}"
        )
        self._local_sqs = clients.client("sqs", endpoint_url, region=definition.region)
        self._sqs = clients.client(
            "sqs",
            endpoint_url,
            region=definition.region,
            credentials=role,
            retries={"max_attempts": 3, "mode": "standard"},
            read_timeout=30,
            max_pool_connections=self.options.max_concurrency + 2,
        )
        # StartSyncExecution: no client retries (the pipe's retry is the redelivery), and a read
        # timeout above the 5-minute invocation limit.
        self._sfn = clients.client(
            "stepfunctions",
            endpoint_url,
            region=definition.region,
            credentials=role,
            retries={"total_max_attempts": 1, "mode": "standard"},
            read_timeout=SYNC_INVOCATION_LIMIT_S + 30,
            max_pool_connections=self.options.max_concurrency + 2,
        )
        _, _, _, _, account, queue_name = definition.source_arn.split(":", 5)
        self.queue_url = self._local_sqs.get_queue_url(
            QueueName=queue_name, QueueOwnerAWSAccountId=account
        )["QueueUrl"]
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy_groups: Counter = Counter()
        self._in_flight = 0
        self._changed = False
        self._held: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._receiver: threading.Thread | None = None
        self._workers: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PipeEmulator:
        if self.definition.desired_state == "STOPPED":
            return self
        self._workers = ThreadPoolExecutor(
            self.options.max_concurrency, thread_name_prefix=f"pipe-{self.definition.name}"
        )
        self._receiver = threading.Thread(
            target=self._receive_loop, daemon=True, name=f"pipe-{self.definition.name}-receiver"
        )
        self._receiver.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling now; let batches in flight finish (up to timeout)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._receiver is not None:
            self._receiver.join(timeout=0.5)  # an idle long poll returns on its own, later
        if self._workers is not None:
            deadline = time.monotonic() + timeout
            while self.in_flight and time.monotonic() < deadline:
                time.sleep(0.05)
            self._workers.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> PipeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    @property
    def held(self) -> int:
        with self._cond:
            return sum(len(v) for v in self._held.values())

    # ------------------------------------------------------------------ receiving

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while self._in_flight >= self.options.max_concurrency and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._in_flight and not self._changed:
                    self._cond.wait(self.options.busy_poll_interval_s)
                self._changed = False
                ready = self._take_ready_held()
                idle = self._in_flight == 0
            if self._stop.is_set():
                self._release(ready)
                break
            try:
                received = self._collect(ready, long_poll=idle and not ready)
            except (ClientError, BotoCoreError):
                if self._stop.is_set():
                    break
                time.sleep(0.5)  # the endpoint is restarting or overloaded; poll again
                received = []
            if self._stop.is_set():
                self._release(ready + received)
                break
            batch = list(ready)
            with self._cond:
                for message in received:
                    group = _group(message)
                    if group is not None and (self._busy_groups[group] or group in self._held):
                        self._held.setdefault(group, []).append(message)
                        self.counters.add("messages_held")
                    else:
                        batch.append(message)
                if batch:
                    for group in {_group(m) for m in batch} - {None}:
                        self._busy_groups[group] += 1
                    self._in_flight += 1
                    self.counters.add("batches")
            if batch:
                assert self._workers is not None
                self._workers.submit(self._run_batch, batch)

    def _take_ready_held(self) -> list[dict[str, Any]]:
        """Held messages whose group has nothing in flight any more (oldest first)."""
        ready: list[dict[str, Any]] = []
        for group in list(self._held):
            if self._busy_groups[group]:
                continue
            room = self.definition.batch_size - len(ready)
            if room <= 0:
                break
            messages = self._held[group]
            ready.extend(messages[:room])
            del messages[:room]
            if not messages:
                del self._held[group]
        return ready

    def _collect(self, ready: list[dict[str, Any]], long_poll: bool) -> list[dict[str, Any]]:
        """Receive up to BatchSize messages, waiting up to the batching window for more."""
        size = self.definition.batch_size
        received: list[dict[str, Any]] = []
        if len(ready) >= size:
            return received
        wait = max(0, min(20, self.options.wait_time_s)) if long_poll else 0
        received += self._receive(size - len(ready), wait)
        window = self.definition.batching_window_s
        if window <= 0 or not (ready or received):
            return received
        deadline = time.monotonic() + window
        while len(ready) + len(received) < size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(size - len(ready) - len(received), min(20, int(remaining)))
            received += more
            if not more and remaining < 1:
                time.sleep(min(remaining, 0.1))
        return received

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        self.counters.add("receives")
        self.counters.add("messages_received", len(messages))
        return messages

    def _release(self, messages: list[dict[str, Any]]) -> None:
        """Make received-but-unsent messages visible again (at shutdown)."""
        if not messages:
            return
        try:
            self._change_visibility(messages, 0)
            self.counters.add("messages_released", len(messages))
        except (ClientError, BotoCoreError):
            pass  # the endpoint is gone; the messages reappear after their visibility timeout

    # ------------------------------------------------------------------ one batch

    def _run_batch(self, batch: list[dict[str, Any]]) -> None:
        groups = tuple(dict.fromkeys(g for g in (_group(m) for m in batch) if g is not None))
        result: BatchResult | None = None
        try:
            records = [
                sqs_record(m, self.definition.source_arn, self.definition.region) for m in batch
            ]
            started = time.monotonic()
            status, execution_arn, error = self._invoke(json.dumps(records))
            seconds = time.monotonic() - started
            self.counters.execution(status, seconds)
            if status == "SUCCEEDED":
                self._delete(batch)
            else:
                self.counters.add("messages_left_for_redelivery", len(batch))
                if self.options.redelivery_delay_s is not None:
                    self._change_visibility(batch, int(self.options.redelivery_delay_s))
            result = BatchResult(
                tuple(m["MessageId"] for m in batch), groups, status, seconds, execution_arn, error
            )
        except Exception as exc:  # never let a worker die with its groups locked
            self.counters.execution("INVOCATION_ERROR", 0.0)
            result = BatchResult(
                tuple(m["MessageId"] for m in batch),
                groups,
                "INVOCATION_ERROR",
                0.0,
                None,
                repr(exc),
            )
        finally:
            with self._cond:
                for group in groups:
                    self._busy_groups[group] -= 1
                    if self._busy_groups[group] <= 0:
                        del self._busy_groups[group]
                self._in_flight -= 1
                self._changed = True
                self._cond.notify_all()
        if self.on_batch is not None and result is not None:
            with contextlib.suppress(Exception):  # a report callback must not break the pipe
                self.on_batch(result)

    def _invoke(self, payload: str) -> tuple[str, str | None, str | None]:
        """Start the target: (status, execution ARN, error); INVOCATION_ERROR if the call failed."""
        try:
            if self.definition.invocation_type == "FIRE_AND_FORGET":
                response = self._sfn.start_execution(
                    stateMachineArn=self.definition.target_arn, input=payload
                )
                return "SUCCEEDED", response.get("executionArn"), None
            response = self._sfn.start_sync_execution(
                stateMachineArn=self.definition.target_arn, input=payload
            )
            return str(response["status"]), response.get("executionArn"), response.get("error")
        except (ClientError, BotoCoreError) as exc:
            return "INVOCATION_ERROR", None, str(exc)

    def _delete(self, batch: list[dict[str, Any]]) -> None:
        for start in range(0, len(batch), 10):
            chunk = batch[start : start + 10]
            response = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
            self.counters.add("messages_deleted", len(response.get("Successful", [])))
            self.counters.add("delete_errors", len(response.get("Failed", [])))

    def _change_visibility(self, messages: list[dict[str, Any]], seconds: int) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            # Entries for messages the workflow already deleted fail individually: fine.
            self._local_sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": seconds,
                    }
                    for i, m in enumerate(chunk)
                ],
            )
