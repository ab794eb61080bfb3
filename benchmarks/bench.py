"""`make bench`: throughput, latency, cold starts, memory and modeled AWS cost of the pipeline.

    python benchmarks/bench.py [-n 1000] [-g 8] [--batch-size 1] [--out FILE] [--no-baseline]

One process: the local stack (moto + Lambda runtime + interpreter, `local_aws.server.LocalAWS`),
template.yaml deployed with its pipe running, N valid `transaction_created` messages sent up front
across G message groups. Then, in the same run and on the same endpoint, the baseline: the
predecessor's design (benchmarks/baseline_single_handler: one Lambda doing check, save and delete
in sequence), fed by an SQS event-source-mapping emulator with G pollers.

Everything is measured, nothing is asserted: the figures are printed and written to a JSON file
(artifacts/bench/ by default). docs/benchmark.md says how to read them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local_aws.awslambda.runtime import FunctionSpec  # noqa: E402
from local_aws.pipes.emulator import BatchResult, PipeOptions, sqs_record  # noqa: E402
from local_aws.server import LocalAWS  # noqa: E402
from local_aws.stack import StackRunner  # noqa: E402
from pipeline_tools.contract import TEMPLATE_PATH  # noqa: E402

PRICES_FILE = Path(__file__).resolve().parent / "aws_prices_us_east_1.json"
BASELINE_DIR = Path(__file__).resolve().parent / "baseline_single_handler"
BODY_TEMPLATE = ROOT / "events" / "bodies" / "valid_transaction.json"
STACK_NAME = "bench-pipeline"
STATE_FUNCTIONS = {  # Task state -> logical id of the function it invokes
    "Validate": "ValidateFunction",
    "CheckIdempotency": "CheckIdempotencyFunction",
    "Save": "SaveFunction",
    "Delete": "DeleteFunction",
}
TARGETS = {
    "messages_per_s": 40.0,
    "overhead_ratio": 5.0,
    "cold_start_ms": 400.0,
    "cost_error_usd_per_1m": 6.0,
}


# ---------------------------------------------------------------------- small helpers


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}": rnd(pct(values, q)) for q in (50, 95, 99)}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rnd(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def parse_iso(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def proc_status_kb(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid: int | str) -> float:
    """utime + stime of a process, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_ms_per_message(before: os.times_result, after: os.times_result, workers_s: float, n: int):
    """CPU of this (stack) process between two os.times() and of the Lambda workers, per message."""
    own_s = (after.user - before.user) + (after.system - before.system)
    return {
        "stack_process": round(own_s * 1000 / n, 2),
        "lambda_workers": round(workers_s * 1000 / n, 2),
    }


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in load],
    }


def make_bodies(count: int) -> list[tuple[str, str]]:
    """(message_id, body) pairs: valid transaction_created messages with fresh ids."""
    template = json.loads(BODY_TEMPLATE.read_text())
    out = []
    for i in range(count):
        data = json.loads(json.dumps(template))
        data["message_id"] = str(uuid.uuid4())
        data["payload"]["transaction_id"] = f"bench-{i:07d}"
        out.append((data["message_id"], json.dumps(data)))
    return out


def send_all(sqs, queue_url: str, bodies: list[tuple[str, str]], groups: int) -> dict[str, float]:
    """Send every body (10 per SendMessageBatch, message i in group i % groups); return
    message_id -> epoch seconds just before its batch was sent."""
    sent_at: dict[str, float] = {}
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        entries = [
            {
                "Id": str(i),
                "MessageBody": body,
                "MessageGroupId": f"group-{(start + i) % groups}",
                "MessageDeduplicationId": message_id,
            }
            for i, (message_id, body) in enumerate(chunk)
        ]
        now = time.time()
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed: {response['Failed'][:3]}")
        for message_id, _ in chunk:
            sent_at[message_id] = now
    return sent_at


def scan_items(ddb, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def ddb_item_bytes(item: dict[str, Any]) -> int:
    """Approximate DynamoDB item size (attribute names + values, low-level format)."""

    def value_size(value: dict[str, Any]) -> int:
        (kind, inner), *_ = value.items()
        if kind in ("S", "B"):
            return len(str(inner).encode("utf-8"))
        if kind == "N":
            return max(1, len(str(inner)) // 2 + 1)
        if kind == "BOOL" or kind == "NULL":
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(v) for k, v in inner.items())
        if kind == "L":
            return 3 + sum(1 + value_size(v) for v in inner)
        return len(json.dumps(inner))

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def log_bytes_by_group(aws: LocalAWS, prefix_filter: tuple[str, ...] = ()) -> dict[str, dict]:
    """{group: {"events": n, "bytes": UTF-8 bytes of the messages}} from moto's logs backend."""
    from moto.logs.models import logs_backends

    backend = logs_backends[aws.account_id][aws.region]
    out: dict[str, dict] = {}
    for name, group in list(backend.groups.items()):
        if prefix_filter and not name.startswith(prefix_filter):
            continue
        events = 0
        size = 0
        for stream in list(group.streams.values()):
            for event in list(stream.events):
                events += 1
                size += len(event.message.encode("utf-8"))
        out[name] = {"events": events, "bytes": size}
    return out


def diff_calls(after: dict, before: dict) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for service, ops in after.items():
        for op, count in ops.items():
            delta = count - before.get(service, {}).get(op, 0)
            if delta:
                out.setdefault(service, {})[op] = delta
    return out


def workers_of(aws: LocalAWS, names: list[str]) -> list[int]:
    pids: list[int] = []
    for name in names:
        with contextlib.suppress(Exception):
            pids += aws.lambdas.worker_pids(name)
    return pids


# ---------------------------------------------------------------------- phases


def invocation_stats(records: list[Any]) -> dict[str, Any]:
    cold = [r for r in records if r.cold and r.init_ms is not None]
    warm = [r.duration_ms for r in records if not r.cold]
    first = min(cold, key=lambda r: r.started_at) if cold else None
    cold_total = [r.init_ms + r.duration_ms for r in cold]
    return {
        "invocations": len(records),
        "errors": sum(1 for r in records if r.error_type),
        "billed_ms_total": sum(r.billed_ms for r in records),
        "cold_starts": len(cold),
        "cold_init_ms_median": rnd(median([r.init_ms for r in cold])),
        # worker start -> first response: init + the first invocation
        "cold_start_ms_first": rnd(first.init_ms + first.duration_ms) if first else None,
        "cold_start_ms_median": rnd(median(cold_total)),
        "cold_start_ms_max": rnd(max(cold_total)) if cold_total else None,
        "warm_duration_ms_median": rnd(median(warm), 2),
        "max_memory_mb": max((r.max_memory_mb for r in records), default=0),
    }


def history_analysis(sfn, arns: list[str]) -> dict[str, Any]:
    """Per-state durations and the bytes Step Functions would log, from execution histories."""
    state_ms: dict[str, list[float]] = defaultdict(list)
    task_ms: dict[str, list[float]] = defaultdict(list)
    log_all = 0
    log_error = 0
    events_all = 0
    events_error = 0
    for arn in arns:
        pages = sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, includeExecutionData=True
        )
        events = [event for page in pages for event in page["events"]]
        open_states: dict[str, float] = {}
        open_task: float | None = None
        current: str | None = None
        for event in events:
            kind = event["type"]
            ts = event["timestamp"].timestamp()
            if kind.endswith("StateEntered"):
                current = event["stateEnteredEventDetails"]["name"]
                open_states[current] = ts
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                if name in open_states:
                    state_ms[name].append((ts - open_states.pop(name)) * 1000)
            elif kind == "TaskScheduled":
                open_task = ts
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and open_task:
                if current:
                    task_ms[current].append((ts - open_task) * 1000)
                open_task = None
            elif kind == "ExecutionSucceeded" or kind == "ExecutionFailed":
                state_ms["(execution)"].append((ts - events[0]["timestamp"].timestamp()) * 1000)
            # The CloudWatch Logs record Step Functions writes for this event (IncludeExecutionData)
            details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
            record = {
                "id": str(event["id"]),
                "type": kind,
                "details": next(iter(details.values()), {}),
                "previous_event_id": str(event.get("previousEventId", 0)),
                "event_timestamp": str(int(ts * 1000)),
                "execution_arn": arn,
                "redrive_count": "0",
            }
            size = len(json.dumps(record, default=str).encode("utf-8"))
            log_all += size
            events_all += 1
            if kind.endswith(("Failed", "TimedOut", "Aborted")):
                log_error += size
                events_error += 1
    return {
        "sampled_executions": len(arns),
        "state_ms_median": {k: rnd(median(v), 2) for k, v in sorted(state_ms.items())},
        "task_ms_median": {k: rnd(median(v), 2) for k, v in sorted(task_ms.items())},
        "sfn_log_bytes_per_execution": {
            "ALL": round(log_all / max(1, len(arns)), 1),
            "ERROR": round(log_error / max(1, len(arns)), 1),
        },
        "sfn_log_events_per_execution": {
            "ALL": round(events_all / max(1, len(arns)), 2),
            "ERROR": round(events_error / max(1, len(arns)), 2),
        },
    }


def run_pipeline(aws: LocalAWS, args, log) -> dict[str, Any]:
    done = threading.Event()
    first_done = threading.Event()
    lock = threading.Lock()
    stats = {"succeeded": 0, "failed_batches": 0, "last": 0.0, "billed_ms": 0, "executions": 0}

    def on_batch(result: BatchResult) -> None:
        with lock:
            stats["executions"] += 1
            if result.status == "SUCCEEDED":
                stats["succeeded"] += len(result.message_ids)
                stats["last"] = time.time()
            else:
                stats["failed_batches"] += 1
            if stats["succeeded"] >= 1:
                first_done.set()
            if stats["succeeded"] >= args.messages:
                done.set()

    overrides = {"BatchSize": args.batch_size}
    if args.execution_log_level:
        overrides["ExecutionLogLevel"] = args.execution_log_level
    t_deploy = time.monotonic()
    runner = StackRunner(
        aws,
        TEMPLATE_PATH,
        stack_name=STACK_NAME,
        parameter_overrides=overrides,
        pipe_options=PipeOptions(max_concurrency=args.pipe_concurrency or args.groups),
        on_batch=on_batch,
    ).start()
    stack = runner.deployed
    log(f"pipeline: deployed in {time.monotonic() - t_deploy:.1f} s; sending {args.messages}")
    function_names = [stack.ref(lid) for lid in STATE_FUNCTIONS.values()]
    sqs = stack.client("sqs")
    bodies = make_bodies(args.messages)
    calls_before = aws.api_calls.snapshot()
    inv_before = len(aws.lambdas.invocations)
    # One message alone first: each function's first (cold) start, without contention. Then the
    # other N-1 all at once: throughput and latency percentiles are those of this bulk.
    t_first = time.time()
    send_all(sqs, stack.ref("MessagesQueue"), bodies[:1], args.groups)
    first_done.wait(args.timeout)
    first_ms = ((stats["last"] or time.time()) - t_first) * 1000
    cpu_before = os.times()
    workers_cpu_before = {pid: proc_cpu_s(pid) for pid in workers_of(aws, function_names)}
    t0 = time.time()
    sent_at = send_all(sqs, stack.ref("MessagesQueue"), bodies[1:], args.groups)
    send_s = time.time() - t0
    finished = done.wait(args.timeout)
    t_end = stats["last"] or time.time()
    cpu_after = os.times()
    calls = diff_calls(aws.api_calls.snapshot(), calls_before)
    # the producer's sends are not the pipeline's cost
    calls.get("sqs", {}).pop("SendMessageBatch", None)
    records = [r for r in aws.lambdas.invocations[inv_before:] if r.function in function_names]
    worker_pids = workers_of(aws, function_names)
    rss_self = proc_status_kb("self", "VmHWM")
    rss_workers = sum(proc_status_kb(pid, "VmHWM") for pid in worker_pids)
    workers_cpu = sum(proc_cpu_s(pid) - workers_cpu_before.get(pid, 0) for pid in worker_pids)
    log(
        f"pipeline: {stats['succeeded']}/{args.messages} stored in {t_end - t0:.1f} s"
        + ("" if finished else " (TIMED OUT)")
    )
    runner.stop()

    # ---- analysis (outside the timed window)
    ddb = stack.client("dynamodb")
    sfn = stack.client("stepfunctions")
    items = scan_items(ddb, stack.ref("MessagesTable"))
    executions: dict[str, tuple[float, float | None]] = {}
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=stack.ref("PipelineStateMachine")):
        for e in page["executions"]:
            stop = e.get("stopDate")
            executions[e["executionArn"]] = (
                e["startDate"].timestamp(),
                stop.timestamp() if stop else None,
            )
    e2e, processing = [], []
    for item in items:
        message_id = item["message_id"]["S"]
        stored = parse_iso(item["processed_at"]["S"])
        if message_id not in sent_at:  # the first message, sent alone
            continue
        e2e.append((stored - sent_at[message_id]) * 1000)
        execution = executions.get(item.get("execution_id", {}).get("S", ""))
        if execution:
            processing.append((stored - execution[0]) * 1000)
    durations = [(stop - start) * 1000 for start, stop in executions.values() if stop]
    arns = sorted(executions)
    step = max(1, len(arns) // max(1, args.history_sample))
    history = history_analysis(sfn, arns[::step][: args.history_sample])
    item_bytes = [ddb_item_bytes(item) for item in items]
    logs = log_bytes_by_group(aws, ("/aws/lambda/" + STACK_NAME,))

    per_function = {}
    for logical in STATE_FUNCTIONS.values():
        name = stack.ref(logical)
        per_function[logical] = invocation_stats([r for r in records if r.function == name])
    for state, logical in STATE_FUNCTIONS.items():
        task = history["task_ms_median"].get(state)
        lam = per_function[logical]["warm_duration_ms_median"]
        per_function[logical]["task_state_ms_median"] = task
        per_function[logical]["warm_invoke_overhead_ms"] = (
            rnd(task - lam, 2) if task is not None and lam is not None else None
        )

    elapsed = t_end - t0
    bulk = max(1, stats["succeeded"] - 1)
    n = bulk
    return {
        "messages": args.messages,
        "stored": len(items),
        "succeeded": stats["succeeded"],
        "failed_batches": stats["failed_batches"],
        "completed": finished,
        "first_message_ms": rnd(first_ms),
        "send_s": round(send_s, 2),
        "elapsed_s": round(elapsed, 2),
        "messages_per_s": round(bulk / elapsed, 2) if elapsed > 0 else None,
        "latency_sent_to_stored_ms": percentiles(e2e),
        "latency_execution_start_to_stored_ms": percentiles(processing),
        "execution_ms": {"p50": rnd(pct(durations, 50)), "p95": rnd(pct(durations, 95))},
        "per_state": history,
        "functions": per_function,
        "peak_rss_mb": {
            "stack_process": round(rss_self / 1024, 1),
            "lambda_workers": round(rss_workers / 1024, 1),
            "total": round((rss_self + rss_workers) / 1024, 1),
            "processes": 1 + len(worker_pids),
        },
        "cpu_ms_per_message": cpu_ms_per_message(cpu_before, cpu_after, workers_cpu, n),
        "counters": {
            "api_calls": calls,
            "lambda_invocations": len(records),
            "lambda_billed_ms": sum(r.billed_ms for r in records),
            "lambda_memory_mb": stack.functions[next(iter(stack.functions))].memory_mb
            if stack.functions
            else 256,
            "express_executions": len(executions),
            "express_billed_ms": sum(max(100, math.ceil(d / 100) * 100) for d in durations),
            "pipe_requests": stats["executions"],
            "log_bytes_by_group": logs,
            "sfn_log_bytes_per_execution": history["sfn_log_bytes_per_execution"],
            "ddb_item_bytes_median": median(item_bytes) if item_bytes else 0,
        },
    }


def run_baseline(aws: LocalAWS, args, log) -> dict[str, Any]:
    """The predecessor's single handler behind an SQS event-source-mapping emulator."""
    sqs = aws.client("sqs")
    ddb = aws.client("dynamodb")
    queue_url = sqs.create_queue(
        QueueName="bench-baseline.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    table = "bench-baseline"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "message_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "message_id", "KeyType": "HASH"}],
    )
    name = "bench-baseline-single-handler"
    aws.lambdas.register(
        FunctionSpec(
            name=name,
            code_dir=BASELINE_DIR,
            environment={"TABLE_NAME": table, "METRICS_NAMESPACE": "BaselineSingleHandler"},
            memory_mb=256,
            timeout_s=3.0,
        )
    )
    lam = aws.client("lambda", config=_pool_config(args.groups))
    poll = aws.client("sqs", config=_pool_config(args.groups))
    bodies = make_bodies(args.messages)
    processed = Counter()
    lock = threading.Lock()
    done = threading.Event()
    first_done = threading.Event()
    stop = threading.Event()
    invoke_ms: list[float] = []
    received_at: dict[str, float] = {}
    last = [0.0]

    finished_one = threading.Condition()

    def poller() -> None:
        # WaitTimeSeconds=0 and a wake-up on each finished invocation (or every 0.1 s), like the
        # pipe emulator: moto's FIFO long poll spins while every group with visible messages is
        # locked by an in-flight message (local_aws/pipes/), which would starve the stack.
        while not stop.is_set():
            try:
                messages = poll.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if stop.is_set():
                    return
                time.sleep(0.2)
                continue
            if not messages:
                with finished_one:
                    finished_one.wait(0.1)
                continue
            for message in messages:
                now = time.time()
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    received_at[json.loads(message["Body"])["message_id"]] = now
                event = {"Records": [sqs_record(message, queue_arn, aws.region)]}
                began = time.monotonic()
                response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
                response["Payload"].read()
                with lock:
                    invoke_ms.append((time.monotonic() - began) * 1000)
                    processed["error" if response.get("FunctionError") else "ok"] += 1
                    last[0] = time.time()
                    if processed["ok"] >= 1:
                        first_done.set()
                    if processed["ok"] >= args.messages:
                        done.set()
                with finished_one:
                    finished_one.notify_all()

    calls_before = aws.api_calls.snapshot()
    inv_before = len(aws.lambdas.invocations)
    threads = [
        threading.Thread(target=poller, daemon=True, name=f"baseline-esm-{i}")
        for i in range(args.pipe_concurrency or args.groups)
    ]
    for thread in threads:
        thread.start()
    t_first = time.time()
    send_all(sqs, queue_url, bodies[:1], args.groups)
    first_done.wait(args.timeout)
    first_ms = ((last[0] or time.time()) - t_first) * 1000
    cpu_before = os.times()
    workers_cpu_before = {pid: proc_cpu_s(pid) for pid in aws.lambdas.worker_pids(name)}
    t0 = time.time()
    sent_at = send_all(sqs, queue_url, bodies[1:], args.groups)
    finished = done.wait(args.timeout)
    t_end = last[0] or time.time()
    cpu_after = os.times()
    calls = diff_calls(aws.api_calls.snapshot(), calls_before)
    calls.get("sqs", {}).pop("SendMessageBatch", None)
    records = [r for r in aws.lambdas.invocations[inv_before:] if r.function == name]
    worker_pids = aws.lambdas.worker_pids(name)
    rss_workers = sum(proc_status_kb(pid, "VmHWM") for pid in worker_pids)
    workers_cpu = sum(proc_cpu_s(pid) - workers_cpu_before.get(pid, 0) for pid in worker_pids)
    stop.set()
    for thread in threads:
        thread.join(timeout=3)
    log(
        f"baseline: {processed['ok']}/{args.messages} stored in {t_end - t0:.1f} s"
        + ("" if finished else " (TIMED OUT)")
    )
    items = scan_items(ddb, table)
    e2e, processing = [], []
    for item in items:
        message_id = item["message_id"]["S"]
        stored = parse_iso(item["processed_at"]["S"])
        if message_id not in sent_at:  # the first message, sent alone
            continue
        e2e.append((stored - sent_at[message_id]) * 1000)
        if message_id in received_at:
            processing.append((stored - received_at[message_id]) * 1000)
    from moto.logs.models import logs_backends  # noqa: F401  (log_bytes_by_group reads it)

    logs = log_bytes_by_group(aws, (f"/aws/lambda/{name}",))
    stats = invocation_stats(records)
    stats["invoke_round_trip_ms_median"] = rnd(median(invoke_ms), 2)
    stats["warm_invoke_overhead_ms"] = (
        rnd(median(invoke_ms) - stats["warm_duration_ms_median"], 2)
        if invoke_ms and stats["warm_duration_ms_median"] is not None
        else None
    )
    elapsed = t_end - t0
    bulk = max(1, processed["ok"] - 1)
    n = bulk
    return {
        "messages": args.messages,
        "stored": len(items),
        "succeeded": processed["ok"],
        "invoke_errors": processed["error"],
        "completed": finished,
        "first_message_ms": rnd(first_ms),
        "elapsed_s": round(elapsed, 2),
        "messages_per_s": round(bulk / elapsed, 2) if elapsed > 0 else None,
        "latency_sent_to_stored_ms": percentiles(e2e),
        "latency_receive_to_stored_ms": percentiles(processing),
        "function": stats,
        "peak_rss_mb": {"lambda_workers": round(rss_workers / 1024, 1)},
        "cpu_ms_per_message": cpu_ms_per_message(cpu_before, cpu_after, workers_cpu, n),
        "counters": {
            "api_calls": calls,
            "lambda_invocations": len(records),
            "lambda_billed_ms": sum(r.billed_ms for r in records),
            "lambda_memory_mb": 256,
            "express_executions": 0,
            "express_billed_ms": 0,
            "pipe_requests": 0,
            "log_bytes_by_group": logs,
            "sfn_log_bytes_per_execution": {"ALL": 0, "ERROR": 0},
            "ddb_item_bytes_median": median([ddb_item_bytes(i) for i in items]) if items else 0,
        },
    }


def _pool_config(groups: int):
    from botocore.config import Config

    return Config(max_pool_connections=groups + 2, read_timeout=60)


# ---------------------------------------------------------------------- cost model


def cost_per_million(counters: dict[str, Any], messages: int, prices: dict, level: str) -> dict:
    """USD per 1M messages: each measured counter / messages x 1e6 x its published price."""
    p = {key: value["usd"] for key, value in prices["prices"].items()}
    scale = 1_000_000 / max(1, messages)
    calls = counters["api_calls"]
    lines: dict[str, float] = {}
    sqs_requests = sum(calls.get("sqs", {}).values())
    lines["sqs_requests"] = sqs_requests * scale * p["sqs_fifo_per_million_requests"] / 1e6
    ddb = calls.get("dynamodb", {})
    wru = math.ceil(max(1, counters["ddb_item_bytes_median"]) / 1024)
    lines["dynamodb_reads"] = (
        ddb.get("GetItem", 0) * scale * p["dynamodb_on_demand_per_million_rru"] / 1e6
    )
    lines["dynamodb_writes"] = (
        ddb.get("PutItem", 0) * wru * scale * p["dynamodb_on_demand_per_million_wru"] / 1e6
    )
    lines["lambda_requests"] = (
        counters["lambda_invocations"] * scale * p["lambda_per_million_requests"] / 1e6
    )
    gb_s = counters["lambda_billed_ms"] / 1000 * counters["lambda_memory_mb"] / 1024
    lines["lambda_duration_arm64"] = gb_s * scale * p["lambda_arm64_per_gb_second"]
    lines["express_requests"] = (
        counters["express_executions"] * scale * p["sfn_express_per_million_requests"] / 1e6
    )
    express_gb_s = counters["express_billed_ms"] / 1000 * 64 / 1024
    lines["express_duration"] = express_gb_s * scale * p["sfn_express_per_gb_second"]
    lines["pipes_requests"] = (
        counters["pipe_requests"] * scale * p["pipes_per_million_requests"] / 1e6
    )
    lambda_log_bytes = sum(g["bytes"] for g in counters["log_bytes_by_group"].values())
    sfn_log_bytes = counters["sfn_log_bytes_per_execution"][level] * counters["express_executions"]
    lines["logs_lambda_ingestion"] = (
        lambda_log_bytes * scale / 1e9 * p["cloudwatch_logs_ingestion_per_gb"]
    )
    lines["logs_stepfunctions_ingestion"] = (
        sfn_log_bytes * scale / 1e9 * p["cloudwatch_logs_vended_ingestion_per_gb"]
    )
    metric_calls = calls.get("cloudwatch", {}).get("PutMetricData", 0)
    lines["cloudwatch_putmetricdata"] = (
        metric_calls * scale * p["cloudwatch_api_per_thousand_requests"] / 1000
    )
    traces = counters["express_executions"] * prices["assumptions"]["xray_sampled_fraction"]
    lines["xray_traces_recorded"] = traces * scale * p["xray_per_million_traces_recorded"] / 1e6
    return {
        "level": level,
        "lines_usd": {k: round(v, 3) for k, v in lines.items()},
        "total_usd": round(sum(lines.values()), 2),
        "per_message": {
            "sqs_requests": round(sqs_requests / max(1, messages), 3),
            "lambda_invocations": round(counters["lambda_invocations"] / max(1, messages), 3),
            "lambda_billed_ms": round(counters["lambda_billed_ms"] / max(1, messages), 2),
            "lambda_log_bytes": round(lambda_log_bytes / max(1, messages), 1),
            "sfn_log_bytes": round(sfn_log_bytes / max(1, messages), 1),
            "put_metric_data_calls": round(metric_calls / max(1, messages), 3),
            "dynamodb_wru_per_put": wru,
        },
    }


# ---------------------------------------------------------------------- report


def verdicts(report: dict[str, Any]) -> dict[str, Any]:
    pipeline = report["pipeline"]
    out: dict[str, Any] = {}
    mps = pipeline["messages_per_s"] or 0
    out["throughput"] = {"value": mps, "target": f">= {TARGETS['messages_per_s']}"}
    out["throughput"]["met"] = mps >= TARGETS["messages_per_s"]
    cold = [
        f["cold_start_ms_first"]
        for f in pipeline["functions"].values()
        if f["cold_start_ms_first"] is not None
    ]
    out["cold_start"] = {
        "value": max(cold) if cold else None,
        "target": f"<= {TARGETS['cold_start_ms']} ms (slowest function's first start)",
        "met": bool(cold) and max(cold) <= TARGETS["cold_start_ms"],
    }
    ratio = report.get("overhead_ratio", {}).get("wall_time_per_message")
    out["overhead"] = {
        "value": ratio,
        "target": f"<= {TARGETS['overhead_ratio']}x baseline",
        "met": ratio is not None and ratio <= TARGETS["overhead_ratio"],
    }
    cost = report["cost_per_1m_messages_usd"]["pipeline_ERROR"]["total_usd"]
    out["cost_error"] = {
        "value": cost,
        "target": f"<= ${TARGETS['cost_error_usd_per_1m']}",
        "met": cost <= TARGETS["cost_error_usd_per_1m"],
    }
    return out


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if abs(value) >= 10 else f"{value:.2f}{unit}"
    return f"{value}{unit}"


def print_report(report: dict[str, Any], out=sys.stdout) -> None:
    m = report["machine"]
    p = report["pipeline"]
    b = report.get("baseline")
    w = out.write
    w("\n== make bench: SQS FIFO -> Pipe -> Express Step Functions -> 4 Lambdas (local stack)\n")
    w(
        f"date {m['date_utc']} | nproc {m['nproc']} | uname -m {m['machine']} | "
        f"python {m['python']} | load average {' '.join(map(str, m['load_average']))} (start)"
        f" -> {' '.join(map(str, report['machine_end']['load_average']))} (end)\n"
    )
    cfg = report["config"]
    started = (
        "forked from a process with boto3 imported"
        if cfg.get("lambda_fork_server")
        else "exec'd (every import in the cold start)"
    )
    w(f"Lambda workers: {started}\n")
    w(
        f"N={cfg['messages']} messages, G={cfg['groups']} groups, BatchSize={cfg['batch_size']}, "
        f"pipe concurrency {cfg['pipe_concurrency']}, all sent up front\n\n"
    )
    w(f"{'':34}{'pipeline':>14}{'baseline':>14}\n")

    def row(label, pv, bv=None, unit=""):
        w(f"{label:34}{fmt(pv, unit):>14}{fmt(bv, unit):>14}\n")

    row("messages/s (end to end)", p["messages_per_s"], b and b["messages_per_s"])
    row("elapsed s (bulk send -> last stored)", p["elapsed_s"], b and b["elapsed_s"])
    row("first message alone ms (cold)", p["first_message_ms"], b and b["first_message_ms"])
    for q in ("p50", "p95", "p99"):
        row(
            f"latency sent->stored {q} ms",
            p["latency_sent_to_stored_ms"][q],
            b and b["latency_sent_to_stored_ms"][q],
        )
    for q in ("p50", "p95", "p99"):
        row(
            f"latency start->stored {q} ms",
            p["latency_execution_start_to_stored_ms"][q],
            b and b["latency_receive_to_stored_ms"][q],
        )
    row("execution duration p50 ms", p["execution_ms"]["p50"])
    row("stack CPU ms/message (process)", p["cpu_ms_per_message"]["stack_process"],
        b and b["cpu_ms_per_message"]["stack_process"])  # fmt: skip
    row("Lambda CPU ms/message (workers)", p["cpu_ms_per_message"]["lambda_workers"],
        b and b["cpu_ms_per_message"]["lambda_workers"])  # fmt: skip
    row("peak RSS MB (stack + workers)", p["peak_rss_mb"]["total"],
        b and b["peak_rss_mb"]["lambda_workers"])  # fmt: skip
    w(f"  (pipeline: {p['peak_rss_mb']['processes']} processes: stack "
      f"{p['peak_rss_mb']['stack_process']} MB + workers {p['peak_rss_mb']['lambda_workers']} MB;"
      " baseline column: its workers only, in the same stack process)\n")  # fmt: skip
    iam = report.get("iam") or {}
    w(
        f"IAM enforcement ({'on' if iam.get('enabled') else 'off: LOCAL_AWS_IAM=off'}): "
        f"{fmt(iam.get('checks_per_message'))} checks/message, "
        f"{fmt(iam.get('cpu_ms_per_message'))} ms stack CPU/message "
        f"({fmt(iam.get('cpu_us_per_check'))} us/check)\n"
    )
    ratio = report.get("overhead_ratio") or {}
    w(
        f"orchestration overhead: {fmt(ratio.get('wall_time_per_message'))}x wall time per message"
        f", {fmt(ratio.get('start_to_stored_p50'))}x processing latency p50 "
        f"(pipeline / baseline)\n\n"
    )
    w("per-state median ms (from execution histories, "
      f"{p['per_state']['sampled_executions']} sampled executions):\n")  # fmt: skip
    w("  " + ", ".join(f"{k} {v}" for k, v in p["per_state"]["state_ms_median"].items()) + "\n")
    w(
        f"\n{'function':26}{'cold 1st':>9}{'load med':>9}{'max':>9}{'warm ms':>9}"
        f"{'task ms':>9}{'overhead':>10}{'invokes':>9}\n"
    )
    for name, f in p["functions"].items():
        w(
            f"{name:26}{fmt(f['cold_start_ms_first']):>9}{fmt(f['cold_start_ms_median']):>9}"
            f"{fmt(f['cold_start_ms_max']):>9}{fmt(f['warm_duration_ms_median']):>9}"
            f"{fmt(f['task_state_ms_median']):>9}{fmt(f['warm_invoke_overhead_ms']):>10}"
            f"{f['invocations']:>9}\n"
        )
    if b:
        f = b["function"]
        w(
            f"{'baseline single handler':26}{fmt(f['cold_start_ms_first']):>9}"
            f"{fmt(f['cold_start_ms_median']):>9}{fmt(f['cold_start_ms_max']):>9}"
            f"{fmt(f['warm_duration_ms_median']):>9}{fmt(f['invoke_round_trip_ms_median']):>9}"
            f"{fmt(f['warm_invoke_overhead_ms']):>10}{f['invocations']:>9}\n"
        )
    w(
        "  cold = worker start -> first response (init + first invocation): 1st = the first"
        " worker (first message, alone), load med/max = all cold workers incl. those started"
        " under load;\n  warm = Lambda duration (warm); task = Task state (baseline: Invoke round"
        " trip); overhead = task - warm\n\n"
    )
    w("modeled AWS cost, USD per 1M messages (us-east-1, prices: "
      f"{report['prices_file']}):\n")  # fmt: skip
    costs = report["cost_per_1m_messages_usd"]
    keys = list(costs)
    w(f"  {'':30}" + "".join(f"{k:>18}" for k in keys) + "\n")
    for line in costs[keys[0]]["lines_usd"]:
        w(f"  {line:30}" + "".join(f"{costs[k]['lines_usd'][line]:>18.3f}" for k in keys) + "\n")
    w(f"  {'TOTAL':30}" + "".join(f"{costs[k]['total_usd']:>18.2f}" for k in keys) + "\n")
    per = costs[keys[0]]["per_message"]
    w(f"  per message (pipeline): {json.dumps(per)}\n")
    if b:
        w(f"  per message (baseline): {json.dumps(costs['baseline']['per_message'])}\n")
    w("\ntargets:\n")
    for name, v in report["targets"].items():
        w(f"  {name:12} {fmt(v['value']):>10}  target {v['target']:40} "
          f"{'MET' if v['met'] else 'MISSED'}\n")  # fmt: skip
    w(f"\nJSON report: {report['output']}\n")


def iam_overhead(enforcer: Any, checks: int, cpu_s: float, messages: int) -> dict[str, Any]:
    """What IAM enforcement (on unless LOCAL_AWS_IAM=off) cost the pipeline run: decisions made
    and the stack threads' CPU time spent making them (decoding the request, evaluating)."""
    checks = enforcer.checks - checks
    cpu_ms = (enforcer.check_cpu_s - cpu_s) * 1000
    return {
        "enabled": enforcer.enabled,
        "checks_per_message": rnd(checks / messages, 2) if messages else None,
        "cpu_ms_per_message": rnd(cpu_ms / messages, 3) if messages else None,
        "cpu_us_per_check": rnd(cpu_ms * 1000 / checks, 1) if checks else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=1000)
    parser.add_argument("-g", "--groups", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1, help="template BatchSize")
    parser.add_argument(
        "--pipe-concurrency",
        type=int,
        default=0,
        help="batches in flight at once (default: the number of groups, as AWS for FIFO)",
    )
    parser.add_argument("--execution-log-level", default="", help="template ExecutionLogLevel")
    parser.add_argument("--history-sample", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--fork-server",
        action="store_true",
        help="fork Lambda workers from a process that has imported boto3, as make test does"
        " (default: exec each worker, so cold starts include every import, as on AWS)",
    )
    parser.add_argument("--out", default="", help="JSON file (default artifacts/bench/<ts>.json)")
    args = parser.parse_args(argv)
    args.pipe_concurrency = args.pipe_concurrency or args.groups

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.out) if args.out else ROOT / "artifacts" / "bench" / f"bench-{stamp}.json"
    output.parent.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "machine": machine(),
        "config": {
            "messages": args.messages,
            "groups": args.groups,
            "batch_size": args.batch_size,
            "pipe_concurrency": args.pipe_concurrency,
            "lambda_fork_server": args.fork_server,
        },
    }
    prices = json.loads(PRICES_FILE.read_text())
    with LocalAWS(port=0) as aws:
        aws.lambdas.use_fork_server = args.fork_server  # docs/fidelity.md, "Lambda cold start"
        checks, cpu_s = aws.iam.checks, aws.iam.check_cpu_s
        report["pipeline"] = run_pipeline(aws, args, log)
        report["iam"] = iam_overhead(aws.iam, checks, cpu_s, report["pipeline"]["succeeded"])
        if not args.no_baseline:
            report["baseline"] = run_baseline(aws, args, log)
    report["machine_end"] = machine()
    p = report["pipeline"]
    costs = {
        "pipeline_ALL": cost_per_million(p["counters"], p["succeeded"], prices, "ALL"),
        "pipeline_ERROR": cost_per_million(p["counters"], p["succeeded"], prices, "ERROR"),
    }
    b = report.get("baseline")
    if b:
        costs["baseline"] = cost_per_million(b["counters"], b["succeeded"], prices, "ERROR")
        report["overhead_ratio"] = {
            "wall_time_per_message": rnd(b["messages_per_s"] / p["messages_per_s"], 2)
            if p["messages_per_s"] and b["messages_per_s"]
            else None,
            "start_to_stored_p50": rnd(
                p["latency_execution_start_to_stored_ms"]["p50"]
                / b["latency_receive_to_stored_ms"]["p50"],
                2,
            )
            if p["latency_execution_start_to_stored_ms"]["p50"]
            and b["latency_receive_to_stored_ms"]["p50"]
            else None,
        }
    report["cost_per_1m_messages_usd"] = costs
    report["prices_file"] = str(PRICES_FILE.relative_to(ROOT))
    report["prices_as_of"] = prices.get("as_of")
    report["targets"] = verdicts(report)
    report["output"] = str(output)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    return 0 if p["completed"] and (not b or b["completed"]) else 1


if __name__ == "__main__":
    sys.exit(main())
