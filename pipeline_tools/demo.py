"""`python -m pipeline_tools run` (`make run`): the whole pipeline on this machine, end to end.

Starts the local AWS, deploys template.yaml, sends the demo messages from events/bodies (valid,
a duplicate, the same message_id with another body, invalid ones, and one message whose first
execution is hit by an injected DynamoDB PutItem failure), waits until every message has a
terminal outcome, and prints a per-message report and the pipeline's 8 metrics as CloudWatch
returns them. Exit status 0 only if every outcome is the expected one and every metric sum
matches what the executions did.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_tools.contract import METRIC_NAMES
from pipeline_tools.observer import Outcome, SentMessage, StackObserver

REPO_ROOT = Path(__file__).resolve().parent.parent
BODIES = REPO_ROOT / "events" / "bodies"


@dataclass(frozen=True)
class DemoMessage:
    label: str
    body_file: str  # in events/bodies
    group: str
    expected_kind: str  # stored | duplicate | quarantined
    expected_reason: str | None = None  # the DLQ reason attribute, when quarantined
    expect_redelivery: bool = False


# Sent together (three groups run in parallel; order inside a group is the send order).
DEMO_MESSAGES = (
    DemoMessage("valid transaction", "valid_transaction.json", "payer-7f3a", "stored"),
    DemoMessage(
        "same message re-serialised", "valid_transaction_reordered.json", "payer-7f3a", "duplicate"
    ),
    DemoMessage(
        "same message_id, other amount",
        "same_id_different_body.json",
        "payer-7f3a",
        "quarantined",
        "PayloadMismatch",
    ),
    DemoMessage("valid, float amount", "valid_float_amount.json", "payer-0b12", "stored"),
    DemoMessage("valid, non-ASCII text", "valid_non_ascii.json", "payer-0b12", "stored"),
    DemoMessage(
        "invalid: malformed JSON",
        "malformed_json.txt",
        "payer-9c4d",
        "quarantined",
        "InvalidMessage",
    ),
    DemoMessage(
        "invalid: missing field",
        "invalid_missing_field.json",
        "payer-9c4d",
        "quarantined",
        "InvalidMessage",
    ),
    DemoMessage(
        "invalid: NaN amount",
        "invalid_nan_amount.txt",
        "payer-9c4d",
        "quarantined",
        "InvalidMessage",
    ),
)
# Sent alone afterwards, while DynamoDB PutItem fails (InternalServerError) until the first
# execution carrying it has failed: the pipe leaves it on the queue and it is stored on redelivery.
TRANSIENT_FAILURE = DemoMessage(
    "valid, first save fails (injected)",
    "valid_null_description.json",
    "payer-51e8",
    "stored",
    expect_redelivery=True,
)
FAULT = ("dynamodb", "PutItem", "InternalServerError")


def _body(name: str) -> str:
    return (BODIES / name).read_text()


class Progress:
    """One status line while waiting (rewritten in place on a terminal)."""

    def __init__(self, out=sys.stdout) -> None:
        self.out = out
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.last = ""
        self.last_print = 0.0

    def __call__(self, outcomes: list[Outcome], depth: dict[str, int]) -> None:
        done = sum(o.terminal for o in outcomes)
        attempts = [a for o in outcomes for a in o.attempts]
        failed = sum(a.status not in ("SUCCEEDED", "RUNNING") for a in attempts)
        line = (
            f"  waiting: {done}/{len(outcomes)} messages terminal | queue {depth['visible']} "
            f"visible, {depth['in_flight']} in flight | {len(attempts)} message-executions "
            f"({failed} failed) | {time.monotonic() - self.started:4.1f} s"
        )
        if self.tty:
            self.out.write("\r" + line.ljust(len(self.last)))
            self.out.flush()
        elif line.split("|")[:3] != self.last.split("|")[:3] or (
            time.monotonic() - self.last_print > 5
        ):
            self.out.write(line + "\n")
            self.last_print = time.monotonic()
        self.last = line

    def done(self) -> None:
        if self.tty and self.last:
            self.out.write("\n")
        self.last = ""
        self.started = time.monotonic()


def run_demo(
    aws: Any, runner: Any, *, print_: Callable[[str], None] = print, timeout: float = 120.0
) -> int:
    observer = StackObserver.for_stack(runner.deployed)
    sent: list[tuple[DemoMessage, SentMessage]] = []
    progress = Progress()

    print_(f"\n== sending {len(DEMO_MESSAGES)} demo messages (3 message groups)")
    started = time.time()
    for demo in DEMO_MESSAGES:
        sent.append((demo, observer.send(_body(demo.body_file), demo.group, label=demo.label)))
    outcomes = observer.wait_until_terminal(
        [s for _, s in sent], timeout=timeout, progress=progress
    )
    progress.done()
    batch_seconds = max(o.finished_at or started for o in outcomes) - started

    demo = TRANSIENT_FAILURE
    print_(f"\n== injecting {FAULT[0]} {FAULT[1]} {FAULT[2]} and sending one more message")
    rule = aws.faults.add(*FAULT)
    message = observer.send(_body(demo.body_file), demo.group, label=demo.label)
    sent.append((demo, message))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            observer.refresh_executions()
            if any(a.status == "FAILED" for a in observer.attempts(message)):
                break
            time.sleep(0.05)
    finally:
        aws.faults.remove(rule.id)
    print_(f"  first execution failed ({rule.injected} PutItem calls failed); fault removed")
    observer.wait_until_terminal([message], timeout=timeout, progress=progress)
    progress.done()

    outcomes = observer.outcomes([s for _, s in sent])
    return report(sent, outcomes, observer, runner, batch_seconds, print_)


def report(
    sent: list[tuple[DemoMessage, SentMessage]],
    outcomes: list[Outcome],
    observer: StackObserver,
    runner: Any,
    batch_seconds: float,
    print_: Callable[[str], None] = print,
) -> int:
    problems: list[str] = []
    print_("\n== per-message report")
    header = (
        f" {'#':>2}  {'message_id':10} {'group':11} {'outcome':38} {'duration':>8}  states taken"
    )
    print_(header)
    print_(" " + "-" * (len(header) + 50))
    for number, ((demo, _), outcome) in enumerate(zip(sent, outcomes, strict=True), 1):
        message_id = (outcome.message.message_id or "(none)")[:8]
        duration = f"{outcome.duration_s:.2f} s" if outcome.duration_s is not None else "-"
        print_(
            f" {number:>2}  {message_id:10} {outcome.message.group:11} {outcome.label:38} "
            f"{duration:>8}  {outcome.states_taken}"
        )
        expected = demo.expected_kind + (
            f"({demo.expected_reason})" if demo.expected_reason else ""
        )
        got = outcome.kind + (f"({outcome.reason})" if outcome.reason else "")
        redelivered = any(a.status != "SUCCEEDED" for a in outcome.attempts)
        if got != expected or redelivered != demo.expect_redelivery:
            problems.append(
                f"#{number} {demo.label}: expected {expected}"
                f"{' after a redelivery' if demo.expect_redelivery else ''}, got {outcome.label}"
            )
    print_("    (a > b: states entered in order; Sx2: task S ran twice (Retry); | : next delivery)")

    expected_metrics = _expected_metrics(outcomes)
    sums = observer.metric_sums()
    print_(f"\n== metrics (namespace {observer.metrics_namespace}, GetMetricStatistics Sum)")
    print_(f"  {'metric':20} {'CloudWatch':>10} {'expected':>9}")
    for name in METRIC_NAMES:
        ok = sums[name] == expected_metrics[name]
        verdict = "ok" if ok else "MISMATCH"
        print_(f"  {name:20} {sums[name]:>10g} {expected_metrics[name]:>9g}  {verdict}")
        if not ok:
            problems.append(
                f"metric {name}: CloudWatch {sums[name]:g}, expected {expected_metrics[name]:g}"
            )

    durations = sorted(o.duration_s for o in outcomes if o.duration_s is not None)
    first_phase = len(DEMO_MESSAGES)
    print_("\n== timings")
    if durations:
        print_(
            f"  per-message latency (sent -> execution end): median "
            f"{statistics.median(durations):.2f} s, max {durations[-1]:.2f} s"
        )
    if batch_seconds > 0:
        print_(
            f"  first {first_phase} messages: {batch_seconds:.2f} s "
            f"({first_phase / batch_seconds:.1f} messages/s, cold starts included)"
        )
    for logical_id, counters in runner.counters().items():
        print_(
            f"  pipe {logical_id}: {counters['batches']} batches, executions "
            f"{counters['executions']}, {counters['messages_deleted']} deleted by the pipe"
        )

    if problems:
        print_("\nFAILED: the report does not match what was sent:")
        for problem in problems:
            print_(f"  - {problem}")
        return 1
    print_(f"\nOK: all {len(outcomes)} messages reached the expected outcome; metrics match.")
    return 0


def _expected_metrics(outcomes: list[Outcome]) -> dict[str, float]:
    """What CloudWatch should say, from the outcomes and the states the executions entered."""
    kinds = [o.kind for o in outcomes]
    entered = [s for o in outcomes for a in o.attempts for s in a.states]
    deleted = sum(
        1
        for o in outcomes
        for a in o.attempts
        if a.iteration_status == "MapIterationSucceeded"
        and "Delete" in a.states
        and not {"RecordSQSGetURLError", "RecordSQSDeleteError"} & set(a.states)
    )
    return {
        "MessagesSaved": float(kinds.count("stored")),
        "DuplicateMessages": float(kinds.count("duplicate")),
        "InvalidMessages": float(kinds.count("quarantined")),
        "MessagesDeleted": float(deleted),
        "DynamoDBCheckError": float(entered.count("RecordDynamoDBCheckError")),
        "DynamoDBSaveError": float(entered.count("RecordDynamoDBSaveError")),
        "SQSGetURLError": float(entered.count("RecordSQSGetURLError")),
        "SQSDeleteError": float(entered.count("RecordSQSDeleteError")),
    }
