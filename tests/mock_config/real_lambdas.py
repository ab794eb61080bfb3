"""The four real handlers, run in process on moto (`mock_aws`), to reproduce what a mocked
response claims: a result (`Return`) or a raised error (`Throw`).

Each reproduction runs in its own fresh moto account, so one cannot leak into the next. Note
that `mock_aws` resets moto's process-global state on entry and exit: do not call this while
something else (the session `local_stack`) must keep its resources; the mock-config scenario
fixtures recreate what they need.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

import local_aws.sqs

# The handlers meet moto's SQS as the local endpoint serves it (AWS's errors and semantics),
# whether or not a LocalAWS was started in this process before.
local_aws.sqs.install()

from lambda_testkit import (  # noqa: E402 (the unit tests' loader and event helpers)
    NAMESPACE,
    QUEUE_NAME,
    REGION,
    TABLE_NAME,
    load_function,
    pipe_event,
    template_resource,
    work_item,
)

APPS = {
    "Validate": "validate",
    "CheckIdempotency": "check_idempotency",
    "Save": "save",
    "Delete": "delete",
}


@dataclass(frozen=True)
class Outcome:
    """What a real handler did: returned `payload`, or raised `error` with `message`."""

    payload: Any = None
    error: str | None = None
    message: str | None = None


class RealLambdas:
    """Run one handler on moto with the environment the template gives it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SQS",
            "AWS_PROFILE",
            "LAMBDA_TASK_ROOT",
            "_X_AMZN_TRACE_ID",
            "LOG_PAYLOADS",
            "IDEMPOTENCY_TTL_DAYS",
        ):
            monkeypatch.delenv(name, raising=False)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "METRICS_NAMESPACE": NAMESPACE,
            "TABLE_NAME": TABLE_NAME,
        }.items():
            monkeypatch.setenv(name, value)

    @contextmanager
    def account(self, *, table: bool = True, queue: bool = True) -> Iterator[dict[str, Any]]:
        """A fresh moto account with the table and the events' source queue (unless told not)."""
        with mock_aws():
            resources: dict[str, Any] = {}
            if table:
                properties = template_resource("MessagesTable")
                boto3.client("dynamodb", region_name=REGION).create_table(
                    TableName=TABLE_NAME,
                    KeySchema=properties["KeySchema"],
                    AttributeDefinitions=properties["AttributeDefinitions"],
                    BillingMode=properties["BillingMode"],
                )
            if queue:
                resources["queue_url"] = boto3.client("sqs", region_name=REGION).create_queue(
                    QueueName=QUEUE_NAME,
                    Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
                )["QueueUrl"]
            yield resources

    @staticmethod
    def call(state: str, event: dict[str, Any]) -> Outcome:
        """Invoke the real handler of `state` (imported afresh inside the current account)."""
        app = load_function(APPS[state])
        try:
            result = app.lambda_handler(copy.deepcopy(event), None)
        except Exception as exc:
            return Outcome(error=type(exc).__name__, message=str(exc))
        # what Lambda would hand Step Functions: the JSON of the result
        return Outcome(payload=json.loads(json.dumps(result)))


def record_of(event_name: str) -> dict[str, Any]:
    """The only record of events/pipe/<event_name>.json."""
    (record,) = pipe_event(event_name)
    return record


def conflicting(record: dict[str, Any]) -> dict[str, Any]:
    """The same record and message_id with another body (a producer reusing the id)."""
    body = json.loads(record["body"])
    body["source"] = f"{body.get('source', '')}-other"
    return {**copy.deepcopy(record), "body": json.dumps(body)}


def _quarantined_item(record: dict[str, Any]) -> dict[str, Any]:
    """What Delete gets on the quarantine path: the record plus `error`, no `validated`."""
    return {**copy.deepcopy(record), "error": {"Error": "InvalidMessage", "Cause": "…"}}


Reproduction = Callable[[RealLambdas, dict[str, Any]], Outcome]


def _validate(real: RealLambdas, record: dict[str, Any]) -> Outcome:
    with real.account():
        return real.call("Validate", record)


def _check(stored: str | None) -> Reproduction:
    """CheckIdempotency with nothing stored, the same body stored, or another body stored."""

    def run(real: RealLambdas, record: dict[str, Any]) -> Outcome:
        with real.account():
            if stored is not None:
                first = record if stored == "same" else conflicting(record)
                assert real.call("Save", work_item(first)).error is None
            return real.call("CheckIdempotency", work_item(record))

    return run


def _check_without_table(real: RealLambdas, record: dict[str, Any]) -> Outcome:
    with real.account(table=False):
        return real.call("CheckIdempotency", work_item(record))


def _save(stored: str | None) -> Reproduction:
    """Save on an empty table, or after another execution stored the same / another body."""

    def run(real: RealLambdas, record: dict[str, Any]) -> Outcome:
        with real.account():
            if stored is not None:
                first = record if stored == "same" else conflicting(record)
                assert real.call("Save", work_item(first)).error is None
            return real.call("Save", work_item(record))

    return run


def _save_without_table(real: RealLambdas, record: dict[str, Any]) -> Outcome:
    with real.account(table=False):
        return real.call("Save", work_item(record))


def _delete(*, quarantined: bool = False, receipt: str = "real") -> Reproduction:
    """Delete a message really in the queue (or with a forged receipt handle)."""

    def run(real: RealLambdas, record: dict[str, Any]) -> Outcome:
        with real.account() as resources:
            sqs = boto3.client("sqs", region_name=REGION)
            sent = sqs.send_message(
                QueueUrl=resources["queue_url"], MessageBody=record["body"], MessageGroupId="g"
            )
            received = sqs.receive_message(QueueUrl=resources["queue_url"])["Messages"][0]
            assert received["MessageId"] == sent["MessageId"]
            item = _quarantined_item(record) if quarantined else work_item(record)
            item["receiptHandle"] = (
                received["ReceiptHandle"] if receipt == "real" else "expired-or-forged"
            )
            return real.call("Delete", item)

    return run


def _delete_without_queue(real: RealLambdas, record: dict[str, Any]) -> Outcome:
    with real.account(queue=False):
        return real.call("Delete", work_item(record))


# (state, what the mock claims) -> how to make the real handler do it. "what the mock claims" is
# the Return payload's `outcome` for a result, or the Throw's error name.
REPRODUCTIONS: dict[tuple[str, str], Reproduction] = {
    ("Validate", "validated"): _validate,
    ("Validate", "InvalidMessage"): _validate,
    ("CheckIdempotency", "new"): _check(stored=None),
    ("CheckIdempotency", "duplicate"): _check(stored="same"),
    ("CheckIdempotency", "PayloadMismatch"): _check(stored="other"),
    ("CheckIdempotency", "DynamoDBCheckError"): _check_without_table,
    ("Save", "saved"): _save(stored=None),
    ("Save", "DuplicateMessage"): _save(stored="same"),
    ("Save", "PayloadMismatch"): _save(stored="other"),
    ("Save", "DynamoDBSaveError"): _save_without_table,
    ("Delete", "deleted"): _delete(),
    ("Delete", "deleted after quarantine"): _delete(quarantined=True),
    ("Delete", "SQSDeleteError"): _delete(receipt="forged"),
    ("Delete", "SQSGetURLError"): _delete_without_queue,
}
