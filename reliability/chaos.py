"""`make chaos`: the whole pipeline on the local stack under random faults, then an invariant check.

    python -m reliability.chaos [--messages 2000] [--groups 20] [--seed 7] [--fault-scale 1.0]

Starts a LocalAWS, deploys template.yaml as its own stack (own table, queues, metric namespace),
injects faults at random (FAULTS below) into DynamoDB GetItem/PutItem, SQS GetQueueUrl/
DeleteMessage/SendMessage, CloudWatch PutMetricData and Lambda (crashes, timeouts), sends the
workload (reliability.workload), waits until the queue is drained, clears the faults, reads the
evidence back through AWS APIs and checks the invariants (reliability.invariants). Prints a table
of faults (injected, seen by the workflow, failed executions, dead-lettered, survived) and of
invariants; exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reliability import invariants, workload
from reliability.invariants import Account, InvariantResult, Sent


@dataclass(frozen=True)
class FaultSpec:
    label: str
    service: str
    operation: str
    error_code: str = ""
    probability: float = 0.05
    kind: str = "error"
    # how the fault shows in an execution history: (state, error) prefixes of "State:Error"
    signatures: tuple[str, ...] = ()


# Probabilities per matching call. The Lambdas' boto3 retries (3 attempts) absorb most DynamoDB
# and SQS errors; what gets through reaches the workflow's Retry/Catch. The interpreter's own
# calls (SendMessage to the DLQ, PutMetricData) are not retried by the SDK: only by the ASL.
FAULTS = (
    FaultSpec(
        "dynamodb GetItem",
        "dynamodb",
        "GetItem",
        "InternalServerError",
        0.25,
        signatures=("CheckIdempotency:DynamoDBCheckError",),
    ),
    FaultSpec(
        "dynamodb PutItem",
        "dynamodb",
        "PutItem",
        "InternalServerError",
        0.25,
        signatures=("Save:DynamoDBSaveError",),
    ),
    FaultSpec(
        "sqs GetQueueUrl",
        "sqs",
        "GetQueueUrl",
        "InternalError",
        0.4,
        signatures=("Delete:SQSGetURLError",),
    ),
    FaultSpec(
        "sqs DeleteMessage",
        "sqs",
        "DeleteMessage",
        "InternalError",
        0.25,
        signatures=("Delete:SQSDeleteError",),
    ),
    FaultSpec(
        "sqs SendMessage",
        "sqs",
        "SendMessage",
        "InternalError",
        0.1,
        signatures=("QuarantineMessage:",),
    ),
    FaultSpec(
        "cloudwatch PutMetricData",
        "cloudwatch",
        "PutMetricData",
        "InternalServiceFault",
        0.2,
        signatures=("Record",),
    ),
    FaultSpec(
        "lambda crash",
        "lambda",
        "Invoke",
        kind="crash",
        probability=0.02,
        signatures=(":Runtime.ExitError",),
    ),
    FaultSpec(
        "lambda timeout",
        "lambda",
        "Invoke",
        kind="timeout",
        probability=0.02,
        signatures=(":Sandbox.Timedout", ":Lambda.Unknown"),
    ),
)


@dataclass(frozen=True)
class Outage:
    """A window in which every matching call fails (probability 1): an AWS service (or one
    function) down for `seconds`. Its injections count in the row of the same fault kind."""

    kind_label: str  # the FAULTS row it belongs to
    service: str
    operation: str
    error_code: str = ""
    kind: str = "error"
    function: str | None = None  # logical id of the function (lambda only)
    seconds: float = 6.0


# Run one after another, `outage_every` seconds apart, cycling, while the queue drains. They push
# failures past every retry: Catch branches, failed executions, and messages redriven to the DLQ
# (10 s of crashes is more than maxReceiveCount=5 receives with a 1 s redelivery delay).
OUTAGES = (
    Outage("dynamodb PutItem", "dynamodb", "PutItem", "InternalServerError", seconds=6),
    Outage(
        "lambda crash", "lambda", "Invoke", kind="crash", function="ValidateFunction", seconds=10
    ),
    Outage("sqs DeleteMessage", "sqs", "DeleteMessage", "InternalError", seconds=6),
    Outage("dynamodb GetItem", "dynamodb", "GetItem", "InternalServerError", seconds=6),
    Outage("lambda crash", "lambda", "Invoke", kind="crash", function="DeleteFunction", seconds=10),
    Outage(
        "cloudwatch PutMetricData",
        "cloudwatch",
        "PutMetricData",
        "InternalServiceFault",
        seconds=10,
    ),
    Outage("sqs SendMessage", "sqs", "SendMessage", "InternalError", seconds=6),
    Outage(
        "lambda timeout", "lambda", "Invoke", kind="timeout", function="SaveFunction", seconds=8
    ),
    Outage("sqs GetQueueUrl", "sqs", "GetQueueUrl", "InternalError", seconds=6),
)


class OutageRunner(threading.Thread):
    """Starts the outages in turn; `stop()` ends the current one and returns what was injected."""

    def __init__(self, aws: Any, stack: Any, every_s: float, log) -> None:
        super().__init__(name="chaos-outages", daemon=True)
        self.aws, self.stack, self.every_s, self.log = aws, stack, every_s, log
        self.stopping = threading.Event()
        self.injected: Counter = Counter()  # kind_label -> injected
        self.started: list[str] = []

    def run(self) -> None:
        index = 0
        while not self.stopping.wait(self.every_s):
            outage = OUTAGES[index % len(OUTAGES)]
            index += 1
            function = self.stack.ref(outage.function) if outage.function else None
            rule = self.aws.faults.add(
                outage.service,
                outage.operation,
                outage.error_code,
                kind=outage.kind,
                function=function,
            )
            what = f"{outage.kind_label}" + (f" ({outage.function})" if outage.function else "")
            self.started.append(what)
            self.log(f"  outage: {what} for {outage.seconds:g} s")
            self.stopping.wait(outage.seconds)
            self.aws.faults.remove(rule.id)
            self.injected[outage.kind_label] += rule.injected

    def stop(self) -> Counter:
        self.stopping.set()
        self.join()
        return self.injected


@dataclass
class FaultRow:
    spec: FaultSpec
    injected: int = 0  # in all (random rule + outages)
    in_outages: int = 0
    seen_by_workflow: int = 0  # TaskFailed events in the histories with this fault's signature
    failed_executions: int = 0  # iterations that failed (→ redelivery) on this fault
    dead_lettered: int = 0  # messages redriven to the DLQ whose last error was this fault
    lost: int = 0  # messages violating I1 that met this fault
    producer_retries: int = 0

    @property
    def survived(self) -> int:
        return self.injected - self.lost


@dataclass
class ChaosReport:
    messages: int
    groups: int
    seconds: float
    faults: list[FaultRow]
    accounts: list[Account]
    results: list[InvariantResult]
    executions: Counter
    execution_errors: Counter
    kinds_sent: Counter
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def _matches(error: str, spec: FaultSpec) -> bool:
    return any(
        error.startswith(sig) if not sig.startswith(":") else error.endswith(sig)
        for sig in spec.signatures
    )


def run_chaos(
    aws: Any,
    *,
    messages: int = 2000,
    groups: int = 20,
    seed: int = 7,
    fault_scale: float = 1.0,
    timeout_s: float = 1800.0,
    stack_name: str | None = None,
    redelivery_delay_s: int = 1,
    outage_every_s: float | None = 25.0,
    log=print,
) -> ChaosReport:
    from local_aws.pipes.emulator import PipeOptions
    from local_aws.stack import StackRunner
    from pipeline_tools.contract import TEMPLATE_PATH
    from pipeline_tools.observer import StackObserver

    started = time.monotonic()
    suffix = uuid.uuid4().hex[:6]
    runner = StackRunner(
        aws,
        TEMPLATE_PATH,
        stack_name=stack_name or f"chaos-{suffix}",
        parameter_overrides={"MetricsNamespace": f"Chaos{suffix}"},
        pipe_options=PipeOptions(redelivery_delay_s=redelivery_delay_s),
    ).start()
    try:
        observer = StackObserver.for_stack(runner.deployed)
        plan = workload.plan(messages, groups, seed=seed, prefix=f"chaos{suffix}")
        since = time.time()
        rules = []
        aws.faults.clear()
        aws.faults.reseed(seed)  # the workload and the fault draws both follow `seed`
        for spec in FAULTS:
            rules.append(
                aws.faults.add(
                    spec.service,
                    spec.operation,
                    spec.error_code,
                    probability=min(1.0, spec.probability * fault_scale),
                    kind=spec.kind,
                )
            )
        outages = OutageRunner(aws, runner.deployed, outage_every_s or 0, log)
        if outage_every_s:
            outages.start()
        try:
            sent, producer_retries = _send_all(runner, observer, plan, log)
            log(f"sent {len(sent)} messages in {time.monotonic() - started:.0f} s; draining")
            _wait_drained(runner, observer, timeout_s=timeout_s, log=log)
        finally:
            outage_injected = outages.stop() if outage_every_s else Counter()
            stats = {rule.id: rule.injected for rule in aws.faults.rules()}
            aws.faults.clear()
        log(f"drained after {time.monotonic() - started:.0f} s; checking the invariants")
        evidence = invariants.gather(observer, since=since)
        accounts, results = invariants.check(sent, evidence)
    finally:
        runner.stop()
    rows = [
        FaultRow(
            spec,
            injected=stats.get(rule.id, 0) + outage_injected[spec.label],
            in_outages=outage_injected[spec.label],
        )
        for spec, rule in zip(FAULTS, rules, strict=True)
    ]
    rows[[r.spec.operation for r in rows].index("SendMessage")].producer_retries = producer_retries
    bad = {a.sent.index for a in invariants.unexpected_accounts(accounts, evidence.items)}
    for acc in accounts:
        errors = [e for i in acc.iterations for e in i.errors]
        for row in rows:
            row.seen_by_workflow += sum(1 for e in errors if _matches(e, row.spec))
            row.failed_executions += sum(
                1
                for i in acc.iterations
                if i.result != "MapIterationSucceeded"
                and i.errors
                and _matches(i.errors[-1], row.spec)
            )
            if acc.kind == "dead-lettered":
                last = next((i.errors[-1] for i in reversed(acc.iterations) if i.errors), "")
                row.dead_lettered += _matches(last, row.spec)
            if acc.sent.index in bad and any(_matches(e, row.spec) for e in errors):
                row.lost += 1
    return ChaosReport(
        messages=len(sent),
        groups=groups,
        seconds=time.monotonic() - started,
        faults=rows,
        accounts=accounts,
        results=results,
        executions=evidence.executions,
        execution_errors=evidence.execution_errors,
        kinds_sent=Counter(s.kind for s in sent),
        extra={"dlq_messages": len(evidence.dlq), "items": len(evidence.items)},
    )


def _send_all(runner, observer, plan, log, threads: int = 4) -> tuple[list[Sent], int]:
    """Send in the planned order (per group: one thread owns a group); a failed send is retried
    with the same MessageDeduplicationId, as a real producer would."""
    groups = sorted({p.group for p in plan})
    owner = {group: i % threads for i, group in enumerate(groups)}
    sent: dict[int, Sent] = {}
    retries = Counter()

    def produce(worker: int) -> None:
        sqs = runner.deployed.client("sqs")
        for p in plan:
            if owner[p.group] != worker:
                continue
            deadline = time.monotonic() + 300
            while True:
                try:
                    sent_at = time.time()
                    response = sqs.send_message(
                        QueueUrl=observer.queue_url,
                        MessageBody=p.body,
                        MessageGroupId=p.group,
                        MessageDeduplicationId=p.dedup_id,
                    )
                    break
                except (ClientError, BotoCoreError):
                    retries[worker] += 1
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            sent[p.index] = Sent(
                index=p.index,
                group=p.group,
                kind=p.kind,
                body=p.body,
                dedup_id=p.dedup_id,
                sqs_message_id=response["MessageId"],
                sent_at=sent_at,
                message_id=p.message_id,
                duplicate_of=p.duplicate_of,
            )

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(produce, w) for w in range(threads)]:
            future.result()
    return [sent[i] for i in sorted(sent)], sum(retries.values())


def _wait_drained(
    runner, observer, *, timeout_s: float, log, quiet_s: float = 3.0, poll_s: float = 1.5
) -> None:
    """Until the queue is empty and no batch is in flight for `quiet_s`. (moto computes every
    queue attribute by scanning all messages, so GetQueueAttributes is polled sparingly.)"""
    deadline = time.monotonic() + timeout_s
    idle_since = None
    last_log = 0.0
    while True:
        depth = observer.queue_depth()
        busy = sum(depth.values()) + sum(p.in_flight + p.held for p in runner.pipes.values())
        now = time.monotonic()
        if busy:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= quiet_s:
            return
        if now - last_log > 15:
            counters = runner.counters()
            executions = sum(sum(c.get("executions", {}).values()) for c in counters.values())
            log(f"  queue {depth}, executions so far {executions}")
            last_log = now
        if now > deadline:
            raise TimeoutError(f"queue not drained after {timeout_s} s: {depth}")
        time.sleep(poll_s if busy else 0.5)


# ---------------------------------------------------------------------- the table


def format_report(report: ChaosReport) -> str:
    lines = []
    header = (
        f"{'fault':26} {'injected':>9} {'(outages)':>9} {'seen by wf':>10} "
        f"{'exec failed':>11} {'DLQ':>4} {'survived':>9}"
    )
    lines += ["== faults", header, "-" * len(header)]
    for row in report.faults:
        note = f"  (+{row.producer_retries} producer retries)" if row.producer_retries else ""
        lines.append(
            f"{row.spec.label:26} {row.injected:>9} {row.in_outages:>9} {row.seen_by_workflow:>10} "
            f"{row.failed_executions:>11} {row.dead_lettered:>4} {row.survived:>9}{note}"
        )
    kinds = Counter(a.kind for a in report.accounts)
    lines += [
        "",
        "== workload",
        f"  sent {report.messages} messages in {report.groups} groups: "
        + ", ".join(f"{k} {report.kinds_sent[k]}" for k in workload.KINDS),
        "  accounts: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
        "  executions: "
        + ", ".join(f"{k} {n}" for k, n in sorted(report.executions.items()))
        + (
            "; failed on: "
            + ", ".join(f"{k} {n}" for k, n in report.execution_errors.most_common())
            if report.execution_errors
            else ""
        ),
        f"  table items {report.extra.get('items')}, "
        f"DLQ messages {report.extra.get('dlq_messages')}",
    ]
    dead = [a for a in report.accounts if a.kind == "dead-lettered"]
    for acc in dead[:10]:
        lines.append(f"  dead-lettered #{acc.sent.index} ({acc.sent.kind}): {acc.reason}")
    if len(dead) > 10:
        lines.append(f"  ... {len(dead) - 10} more dead-lettered")
    lines += [
        "",
        "== invariants",
    ]
    for result in report.results:
        lines.append(f"  {result.name} {result.title:45} {'PASS' if result.ok else 'FAIL'}")
        lines.append(f"       {result.detail}")
        for violation in result.violations[:20]:
            lines.append(f"       ! {violation}")
        if len(result.violations) > 20:
            lines.append(f"       ! ... {len(result.violations) - 20} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reliability.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--messages", type=int, default=int(os.environ.get("CHAOS_MESSAGES", 2000)))
    parser.add_argument("--groups", type=int, default=int(os.environ.get("CHAOS_GROUPS", 20)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", 7)))
    parser.add_argument(
        "--outage-every",
        type=float,
        default=float(os.environ.get("CHAOS_OUTAGE_EVERY", 25)),
        help="seconds between outages (0: random faults only)",
    )
    parser.add_argument(
        "--fault-scale", type=float, default=1.0, help="multiply every fault probability"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for the queue to drain"
    )
    args = parser.parse_args(argv)
    from local_aws.server import LocalAWS

    started = time.monotonic()
    print(
        f"chaos: {args.messages} messages, {args.groups} groups, seed {args.seed}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{platform.machine()}, Python {platform.python_version()}",
        flush=True,
    )
    with LocalAWS(port=0, fault_seed=args.seed) as aws:
        report = run_chaos(
            aws,
            messages=args.messages,
            groups=args.groups,
            seed=args.seed,
            fault_scale=args.fault_scale,
            timeout_s=args.timeout,
            outage_every_s=args.outage_every,
            log=lambda line: print(line, flush=True),
        )
        iam = aws.iam
        iam_line = (
            f"IAM {'enforced' if iam.enabled else 'off (LOCAL_AWS_IAM=off)'}: {iam.checks} "
            f"role-signed requests checked, {sum(iam.denied.values())} denied"
        )
    print(format_report(report))
    print(iam_line)
    print(f"\n{'OK' if report.ok else 'FAILED'}: wall time {time.monotonic() - started:.0f} s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
