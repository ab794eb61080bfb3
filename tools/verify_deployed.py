"""Acceptance run against a deployed stack, through public AWS APIs only.

    python tools/verify_deployed.py --stack sqs-fifo-pipeline [--cleanup]   (make verify-deployed)

Reads the stack's outputs with CloudFormation DescribeStacks, then sends four messages in one
message group of its own (FIFO: processed in this order): a valid one, its duplicate, one with
the same message_id and another body, and an invalid one. Each is checked to its end: the item in
the table (stored once, by the first message), the DLQ messages with their reasons
(PayloadMismatch, InvalidMessage), and the metric sums in the stack's namespace. Works on AWS
(your credentials, region) and on the local endpoint (AWS_ENDPOINT_URL, as every AWS SDK reads it).

The messages are marked: their MessageGroupId starts with `verify-deployed-`, which the stored
items (`message_group_id`) and the DLQ copies keep. `--cleanup` deletes exactly the marked items
and DLQ messages (of this run and earlier ones) at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

MARK = "verify-deployed-"
BODIES = Path(__file__).resolve().parents[1] / "events" / "bodies"


@dataclass
class Check:
    label: str
    expected: str
    message_id: str
    sqs_message_id: str = ""
    observed: str = "pending"
    ok: bool = False
    details: list[str] = field(default_factory=list)


class Stack:
    """The deployed stack as its outputs and parameters describe it."""

    def __init__(self, session: boto3.session.Session, name: str) -> None:
        [described] = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
        self.name = name
        self.status = described["StackStatus"]
        self.queue_url = outputs["QueueUrl"]
        self.dlq_url = outputs["DeadLetterQueueUrl"]
        self.table = outputs["TableName"]
        self.namespace = parameters["MetricsNamespace"]
        self.sqs = session.client("sqs")
        self.ddb = session.client("dynamodb")
        self.table_resource = session.resource("dynamodb").Table(self.table)
        self.cloudwatch = session.client("cloudwatch")


def body(name: str, message_id: str, **payload: Any) -> str:
    data = json.loads((BODIES / name).read_text())
    data["message_id"] = message_id
    data["payload"].update(payload)
    return json.dumps(data)


def send_messages(stack: Stack, group: str) -> list[Check]:
    first, invalid = str(uuid.uuid4()), str(uuid.uuid4())
    plan = [
        (Check("valid", "stored", first), body("valid_transaction.json", first)),
        (Check("duplicate", "duplicate", first), body("valid_transaction.json", first)),
        (
            Check("same id, other body", "quarantined(PayloadMismatch)", first),
            body("valid_transaction.json", first, amount=999.99),
        ),
        (
            Check("invalid", "quarantined(InvalidMessage)", invalid),
            body("invalid_amount_zero.json", invalid),
        ),
    ]
    for check, text in plan:
        check.sqs_message_id = stack.sqs.send_message(
            QueueUrl=stack.queue_url,
            MessageBody=text,
            MessageGroupId=group,
            MessageDeduplicationId=uuid.uuid4().hex,
        )["MessageId"]
    return [check for check, _ in plan]


def receive_dead_letters(stack: Stack, wait_s: int) -> list[dict[str, Any]]:
    return stack.sqs.receive_message(
        QueueUrl=stack.dlq_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait_s,
        VisibilityTimeout=30,
        MessageSystemAttributeNames=["MessageGroupId"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def read_dead_letters(stack: Stack, group: str, wanted: int, deadline: float) -> dict[str, dict]:
    """This run's DLQ messages (their attributes) by source SQS message id."""
    found: dict[str, dict] = {}
    while len(found) < wanted and time.monotonic() < deadline:
        for message in receive_dead_letters(stack, wait_s=2):
            if message["Attributes"].get("MessageGroupId") == group:
                attributes = {
                    k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()
                }
                found[attributes.get("source_message_id", "")] = attributes
            # Read, not taken: every message stays in the DLQ (ours until --cleanup).
            stack.sqs.change_message_visibility(
                QueueUrl=stack.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return found


def metric_sums(stack: Stack, since: dt.datetime) -> dict[str, float]:
    sums = {}
    for name in ("MessagesSaved", "DuplicateMessages", "InvalidMessages", "MessagesDeleted"):
        points = stack.cloudwatch.get_metric_statistics(
            Namespace=stack.namespace,
            MetricName=name,
            StartTime=since - dt.timedelta(minutes=1),
            EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        sums[name] = sum(p["Sum"] for p in points)
    return sums


def verify(stack: Stack, timeout_s: float) -> tuple[list[Check], dict[str, float], bool]:
    run = dt.datetime.now(dt.UTC)
    group = f"{MARK}{run:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    checks = send_messages(stack, group)
    valid, duplicate, mismatch, invalid = checks
    deadline = time.monotonic() + timeout_s

    item = None
    while item is None and time.monotonic() < deadline:
        item = stack.ddb.get_item(
            TableName=stack.table, Key={"message_id": {"S": valid.message_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            time.sleep(1)
    letters = read_dead_letters(stack, group, 2, deadline)

    if item is not None:
        stored_by = item.get("sqs_message_id", {}).get("S")
        valid.observed = "stored" if stored_by == valid.sqs_message_id else f"stored by {stored_by}"
        valid.ok = valid.observed == "stored" and item["message_group_id"]["S"] == group
    for check in (mismatch, invalid):
        letter = letters.get(check.sqs_message_id)
        if letter is not None:
            check.observed = f"quarantined({letter.get('reason')})"
            check.details.append(str(letter.get("reason_detail", ""))[:80])
        check.ok = check.observed == check.expected
    # The duplicate leaves no trace of its own: the item is still the first message's, and
    # DuplicateMessages counts it (checked with the metrics below).
    expected = {"MessagesSaved": 1, "DuplicateMessages": 1, "InvalidMessages": 2}
    expected["MessagesDeleted"] = 4
    sums = metric_sums(stack, run)
    while any(sums[k] < v for k, v in expected.items()) and time.monotonic() < deadline:
        time.sleep(5)
        sums = metric_sums(stack, run)
    duplicate.observed = "duplicate" if valid.ok and sums["DuplicateMessages"] >= 1 else "unknown"
    duplicate.ok = duplicate.observed == "duplicate"
    metrics_ok = all(sums[k] >= v for k, v in expected.items())
    return checks, sums, metrics_ok and all(c.ok for c in checks)


def cleanup(stack: Stack) -> tuple[int, int]:
    """Delete every marked item and DLQ message (this run's and earlier runs')."""
    items = 0
    scan: dict[str, Any] = {
        "FilterExpression": Attr("message_group_id").begins_with(MARK),
        "ProjectionExpression": "message_id",
    }
    while True:
        page = stack.table_resource.scan(**scan)
        for found in page.get("Items", []):
            stack.table_resource.delete_item(Key={"message_id": found["message_id"]})
            items += 1
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    letters = 0
    while True:
        messages = receive_dead_letters(stack, wait_s=1)
        if not messages:
            break
        for message in messages:
            handle = message["ReceiptHandle"]
            if message["Attributes"].get("MessageGroupId", "").startswith(MARK):
                stack.sqs.delete_message(QueueUrl=stack.dlq_url, ReceiptHandle=handle)
                letters += 1
            else:
                stack.sqs.change_message_visibility(
                    QueueUrl=stack.dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
        if all(not m["Attributes"].get("MessageGroupId", "").startswith(MARK) for m in messages):
            break  # only other traffic left at the head of the queue
    return items, letters


def print_report(stack: Stack, checks: list[Check], sums: dict[str, float], ok: bool) -> None:
    print(f"== verify-deployed: stack {stack.name} ({stack.status}), namespace {stack.namespace}")
    print(f"  {'message':<22}{'message_id':<12}{'expected':<32}{'observed':<32}")
    for check in checks:
        mark = "ok" if check.ok else "FAILED"
        line = f"  {check.label:<22}{check.message_id[:8]:<12}{check.expected:<32}"
        print(f"{line}{check.observed:<32}{mark}")
    print("  metrics since the run started (Sum, at least): " + json.dumps(sums))
    print(f"\n{'OK' if ok else 'FAILED'}: {'all four messages' if ok else 'not every message'} "
          "reached the expected outcome")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name")
    parser.add_argument("--region", default=None, help="default: your AWS configuration's")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait (240)")
    parser.add_argument(
        "--cleanup", action="store_true", help="delete the marked items and DLQ messages at the end"
    )
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    stack = Stack(session, args.stack)
    checks, sums, ok = verify(stack, args.timeout)
    print_report(stack, checks, sums, ok)
    if args.cleanup:
        items, letters = cleanup(stack)
        print(f"cleanup: deleted {items} marked item(s) and {letters} marked DLQ message(s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
