"""The invariant checker of a chaos run: reads what happened back from AWS APIs only.

Evidence (all read after the queue drained and the faults were cleared):
- the table (Scan, consistent), the DLQ (drained), the executions (ListExecutions,
  DescribeExecution for the input, GetExecutionHistory), CloudWatch metric sums;
- the producer's own record of every send: body, group, MessageDeduplicationId, SQS MessageId.

Each sent message gets exactly one *account* (README: "what counts as accounted for"):
  stored           the table item for its message_id names this SQS MessageId;
  duplicate        the item for its message_id was stored by another send with the same body
                   (same body_sha256), and an execution handled this copy as a duplicate;
  quarantined      a DLQ message has source_message_id = this SQS MessageId and a reason;
  dead-lettered    SQS itself redrove it to the DLQ (maxReceiveCount receives, every execution
                   failed); the reason: the failed executions and the last error in them;
  sqs-deduplicated SQS accepted the send but never delivered it, and an earlier send of the same
                   group used the same MessageDeduplicationId within the 5-minute window.

Invariants:
  I1 every sent message has exactly one account, and one allowed for its kind;
  I2 no item stored twice: at most one successful Save per message_id, items = stored accounts,
     every item was stored by a sent message;
  I3 within each group the stored order (processed_at) equals the send order;
  I4 every metric sum equals the count observed in the execution histories, and the success
     metrics equal the accounts (MessagesSaved = stored, ...).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from pipeline_tools.contract import METRIC_NAMES
from pipeline_tools.runs.outcomes import ERROR_METRIC_STATES

DEDUP_WINDOW_S = 300


@dataclass
class Sent:
    index: int
    group: str
    kind: str  # workload kind: valid | duplicate | invalid | mismatch
    body: str
    dedup_id: str
    sqs_message_id: str
    sent_at: float
    message_id: str | None
    duplicate_of: int | None = None


@dataclass
class Iteration:
    """One execution's handling of one record."""

    execution_arn: str
    status: str  # the execution's status
    started: float
    index: int
    states: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # every TaskFailed error, in order
    result: str | None = None  # MapIterationSucceeded | MapIterationFailed | ...
    saved: int = 0  # Save tasks that returned outcome "saved"
    duplicate: int = 0  # duplicates detected (CheckIdempotency or a lost Save race)
    deleted: int = 0
    metrics_written: Counter = field(default_factory=Counter)  # Record… states that succeeded


@dataclass
class Evidence:
    items: dict[str, dict[str, Any]]  # message_id -> item (low-level)
    dlq: list[dict[str, Any]]
    iterations: dict[str, list[Iteration]]  # SQS MessageId -> iterations
    execution_errors: Counter  # error of each FAILED execution
    executions: Counter  # status -> count
    metrics: dict[str, float]


@dataclass
class Account:
    sent: Sent
    kind: str  # stored | duplicate | quarantined | dead-lettered | sqs-deduplicated | unaccounted
    reason: str | None = None
    claims: list[str] = field(default_factory=list)  # every account the evidence supports
    dlq_copies: int = 0
    iterations: list[Iteration] = field(default_factory=list)


@dataclass
class InvariantResult:
    name: str
    title: str
    ok: bool
    detail: str
    violations: list[str] = field(default_factory=list)


def body_sha256(text: str) -> str | None:
    """docs/contract.md: SHA-256 of the canonical JSON of the parsed body."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------------- gathering


def gather(observer: Any, *, since: float) -> Evidence:
    """Read everything from AWS (call after the faults are cleared and the queue drained)."""
    items = {}
    paginator = observer.ddb.get_paginator("scan")
    for page in paginator.paginate(TableName=observer.table_name, ConsistentRead=True):
        for item in page["Items"]:
            items[item["message_id"]["S"]] = item
    dlq = list(observer.dead_letters().values())
    iterations: dict[str, list[Iteration]] = defaultdict(list)
    execution_errors: Counter = Counter()
    statuses: Counter = Counter()
    sfn = observer.sfn
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=observer.state_machine_arn
    ):
        for summary in page["executions"]:
            arn = summary["executionArn"]
            description = sfn.describe_execution(executionArn=arn)
            status = description["status"]
            statuses[status] += 1
            if status == "FAILED":
                execution_errors[description.get("error") or "?"] += 1
            try:
                records = json.loads(description.get("input") or "[]")
            except ValueError:
                records = []
            found = _iterations(_history(sfn, arn), arn, status, description["startDate"])
            for index, record in enumerate(records if isinstance(records, list) else []):
                if isinstance(record, dict) and "messageId" in record:
                    iteration = found.get(index) or Iteration(
                        arn, status, description["startDate"].timestamp(), index
                    )
                    iterations[record["messageId"]].append(iteration)
    for its in iterations.values():
        its.sort(key=lambda i: i.started)
    return Evidence(
        items=items,
        dlq=dlq,
        iterations=dict(iterations),
        execution_errors=execution_errors,
        executions=statuses,
        metrics=observer.metric_sums(since=since - 120),
    )


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, PaginationConfig={"PageSize": 1000}
    )
    return [event for page in pages for event in page["events"]]


def _output(details: dict[str, Any]) -> Any:
    try:
        return json.loads(details.get("output") or "null")
    except ValueError:
        return None


def _iterations(events: list[dict[str, Any]], arn: str, status: str, started: Any):
    """Map iterations of one history (MaxConcurrency 1: they do not interleave)."""
    out: dict[int, Iteration] = {}
    current: Iteration | None = None
    state: str | None = None
    for event in events:
        etype = event.get("type", "")
        if etype == "MapIterationStarted":
            index = int(event.get("mapIterationStartedEventDetails", {}).get("index", -1))
            current = out[index] = Iteration(arn, status, started.timestamp(), index)
            state = None
            continue
        if current is None:
            continue
        if etype.startswith("MapIteration"):
            current.result = etype
            current = None
        elif etype.endswith("StateEntered"):
            state = event.get("stateEnteredEventDetails", {}).get("name")
            current.states.append(state or "?")
        elif etype == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            error = details.get("error") or "?"
            current.errors.append(f"{state}:{error}")
            if state == "Save" and error == "DuplicateMessage":
                current.duplicate += 1
        elif etype == "TaskSucceeded":
            output = _output(event.get("taskSucceededEventDetails", {}))
            payload = output.get("Payload") if isinstance(output, dict) else None
            outcome = payload.get("outcome") if isinstance(payload, dict) else None
            if state == "Save" and outcome == "saved":
                current.saved += 1
            elif state == "CheckIdempotency" and outcome == "duplicate":
                current.duplicate += 1
            elif state == "Delete" and outcome == "deleted":
                current.deleted += 1
            elif state in ERROR_METRIC_STATES:
                current.metrics_written[ERROR_METRIC_STATES[state]] += 1
    return out


# ---------------------------------------------------------------------- accounting

ALLOWED = {
    "valid": {"stored", "dead-lettered"},
    "duplicate": {"duplicate", "sqs-deduplicated", "dead-lettered"},
    "invalid": {"quarantined:InvalidMessage", "dead-lettered"},
    "mismatch": {"quarantined:PayloadMismatch", "dead-lettered"},
}


def account(sent: list[Sent], evidence: Evidence) -> list[Account]:
    quarantine: dict[str, list[dict[str, Any]]] = defaultdict(list)
    redriven: dict[str, dict[str, Any]] = {}
    for message in evidence.dlq:
        attrs = message.get("MessageAttributes") or {}
        source = attrs.get("source_message_id", {}).get("StringValue")
        if source:
            quarantine[source].append(message)
        else:
            redriven[message["MessageId"]] = message
    by_dedup: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for s in sent:
        by_dedup[(s.group, s.dedup_id)].append(s)
    accounts = []
    for s in sent:
        its = evidence.iterations.get(s.sqs_message_id, [])
        acc = Account(sent=s, kind="unaccounted", iterations=its)
        item = evidence.items.get(s.message_id) if s.message_id else None
        if item is not None and item.get("sqs_message_id", {}).get("S") == s.sqs_message_id:
            acc.claims.append("stored")
        copies = quarantine.get(s.sqs_message_id, [])
        if copies:
            acc.dlq_copies = len(copies)
            attrs = copies[0].get("MessageAttributes") or {}
            acc.reason = attrs.get("reason", {}).get("StringValue") or None
            acc.claims.append(f"quarantined:{acc.reason}" if acc.reason else "quarantined:?")
        if s.sqs_message_id in redriven:
            last = next((i.errors[-1] for i in reversed(its) if i.errors), None)
            failed = sum(1 for i in its if i.status != "SUCCEEDED")
            acc.reason = f"redriven to the DLQ by SQS after {failed} failed executions" + (
                f", last error {last}" if last else ""
            )
            acc.claims.append("dead-lettered")
        if (
            item is not None
            and "stored" not in acc.claims
            and item.get("body_sha256", {}).get("S") == body_sha256(s.body)
            and any(i.duplicate and i.result == "MapIterationSucceeded" for i in its)
        ):
            acc.claims.append("duplicate")
        if not its and not copies and s.sqs_message_id not in redriven:
            earlier = [
                e
                for e in by_dedup[(s.group, s.dedup_id)]
                if e.index < s.index and s.sent_at - e.sent_at < DEDUP_WINDOW_S
            ]
            if earlier:
                acc.claims.append("sqs-deduplicated")
                acc.reason = f"same MessageDeduplicationId as send #{earlier[0].index}"
        if len(acc.claims) == 1:
            acc.kind = acc.claims[0].split(":")[0]
        elif acc.claims:
            acc.kind = "accounted-twice"
        accounts.append(acc)
    return accounts


def _allowed(acc: Account, by_index: dict[int, Account]) -> bool:
    if len(acc.claims) != 1:
        return False
    claim = acc.claims[0]
    allowed = set(ALLOWED[acc.sent.kind])
    if acc.sent.kind in ("duplicate", "mismatch") and acc.sent.duplicate_of is not None:
        original = by_index.get(acc.sent.duplicate_of)
        if original is not None and original.kind != "stored":
            # The original never got stored (dead-lettered): this copy may be the first one.
            allowed |= {"stored", "duplicate"}
    return claim in allowed


# ---------------------------------------------------------------------- invariants


def check(sent: list[Sent], evidence: Evidence) -> tuple[list[Account], list[InvariantResult]]:
    accounts = account(sent, evidence)
    by_index = {a.sent.index: a for a in accounts}
    results = []

    # I1
    bad = [a for a in accounts if not _allowed(a, by_index)]
    kinds = Counter(a.kind for a in accounts)
    results.append(
        InvariantResult(
            "I1",
            "every sent message accounted for exactly once",
            not bad,
            ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
            [
                f"#{a.sent.index} {a.sent.kind} {a.sent.sqs_message_id} group {a.sent.group}: "
                f"claims {a.claims or 'none'}; executions "
                f"{[(i.status, ' > '.join(i.states), i.errors) for i in a.iterations]}"
                for a in bad
            ],
        )
    )

    # I2
    violations = []
    saves: Counter = Counter()
    for a in accounts:
        for i in a.iterations:
            if i.saved and a.sent.message_id:
                saves[a.sent.message_id] += i.saved
    violations += [f"message_id {m} saved {n} times" for m, n in saves.items() if n > 1]
    # (claims, not kinds: a message stored *and* dead-lettered still has one item)
    stored = [a for a in accounts if "stored" in a.claims]
    if len(evidence.items) != len(stored):
        violations.append(f"{len(evidence.items)} items in the table, {len(stored)} stored sends")
    sent_ids = {s.sqs_message_id for s in sent}
    for message_id, item in evidence.items.items():
        if item.get("sqs_message_id", {}).get("S") not in sent_ids:
            violations.append(f"item {message_id} stored by an unknown SQS message")
    results.append(
        InvariantResult(
            "I2",
            "no item stored twice",
            not violations,
            f"{len(evidence.items)} items, {sum(saves.values())} successful Saves",
            violations,
        )
    )

    # I3
    violations = []
    groups: dict[str, list[Account]] = defaultdict(list)
    for a in stored:
        groups[a.sent.group].append(a)
    for group, members in groups.items():
        members.sort(key=lambda a: a.sent.index)
        times = [evidence.items[a.sent.message_id]["processed_at"]["S"] for a in members]
        for k in range(1, len(members)):
            a, b, ta, tb = members[k - 1], members[k], times[k - 1], times[k]
            if tb < ta:
                violations.append(
                    f"group {group}: send #{b.sent.index} stored at {tb}, before "
                    f"#{a.sent.index} (sent earlier) at {ta}"
                )
    results.append(
        InvariantResult(
            "I3",
            "per-group stored order = send order",
            not violations,
            f"{len(groups)} groups, {len(stored)} stored messages",
            violations,
        )
    )

    # I4
    observed: Counter = Counter()
    for a in accounts:
        for i in a.iterations:
            observed["MessagesSaved"] += i.saved
            observed["DuplicateMessages"] += i.duplicate
            observed["MessagesDeleted"] += i.deleted
            observed.update(i.metrics_written)
    violations = [
        f"{name}: CloudWatch {evidence.metrics.get(name, 0):g}, executions {observed[name]}"
        for name in METRIC_NAMES
        if evidence.metrics.get(name, 0) != observed[name]
    ]
    quarantined = sum(1 for a in accounts if a.kind == "quarantined")
    if observed["MessagesSaved"] != len(stored):
        violations.append(f"MessagesSaved {observed['MessagesSaved']} != stored {len(stored)}")
    lost_invalid = sum(
        1
        for a in accounts
        for i in a.iterations
        if "RecordInvalidMessage" in i.states and not i.metrics_written["InvalidMessages"]
    )
    quarantine_runs = sum(
        1 for a in accounts for i in a.iterations if "RecordInvalidMessage" in i.states
    )
    if observed["InvalidMessages"] + lost_invalid != quarantine_runs:
        violations.append("InvalidMessages does not match the quarantine runs")
    results.append(
        InvariantResult(
            "I4",
            "metric sums = observed counts",
            not violations,
            ", ".join(f"{n} {evidence.metrics.get(n, 0):g}" for n in METRIC_NAMES)
            + f"; quarantined messages {quarantined}, quarantine runs {quarantine_runs}"
            + (
                f", InvalidMessages lost to PutMetricData faults {lost_invalid}"
                if lost_invalid
                else ""
            ),
            violations,
        )
    )
    return accounts, results
