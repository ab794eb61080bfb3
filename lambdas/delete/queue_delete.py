"""Delete: remove the message from its queue by receipt handle.

The queue URL is resolved from the record's eventSourceARN (arn:aws:sqs:region:account:name) with
GetQueueUrl(QueueName, QueueOwnerAWSAccountId) and cached in a dict the caller keeps for the life
of the container, so a warm function makes one SQS call per message. Failures raise
SQSGetURLError / SQSDeleteError; the message is already stored (or quarantined) by then, so the
workflow records the metric and lets the pipe delete the batch (docs/contract.md).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pipeline_common import aws_clients
from pipeline_common import message as message_codec
from pipeline_common import record as sqs_record
from pipeline_common.errors import SQSDeleteError, SQSGetURLError
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

# Errors after which the cached URL may be stale (the queue was deleted or recreated).
_STALE_URL_CODES = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"}
)


@dataclass(frozen=True)
class QueueRef:
    region: str
    account: str
    name: str


def parse_queue_arn(arn: str) -> QueueRef:
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return QueueRef(region=parts[3], account=parts[4], name=parts[5])


def queue_url(sqs: Any, arn: str, cache: MutableMapping[str, str]) -> str:
    cached = cache.get(arn)
    if cached:
        return cached
    try:
        ref = parse_queue_arn(arn)
    except ValueError as err:
        raise SQSGetURLError(f"eventSourceARN is {err}") from err
    try:
        response = sqs.get_queue_url(QueueName=ref.name, QueueOwnerAWSAccountId=ref.account)
    except (ClientError, BotoCoreError) as err:
        raise SQSGetURLError(aws_clients.describe("GetQueueUrl", err)) from err
    cache[arn] = response["QueueUrl"]
    return cache[arn]


def delete(
    record: Mapping[str, Any],
    *,
    sqs: Any,
    cache: MutableMapping[str, str],
    log: StructuredLogger,
    metrics: Metrics,
) -> dict[str, Any]:
    log.start(record)
    # On the quarantine path the body may be anything: the message_id is only for logs.
    message_id = sqs_record.message_id_hint(record) or message_codec.message_id_of(
        sqs_record.body(record)
    )
    log.set_message_id(message_id)
    arn = sqs_record.event_source_arn(record) or ""
    details = {"queue_name": arn.rsplit(":", 1)[-1] if arn else None}

    try:
        if not arn:
            raise SQSGetURLError("the record has no eventSourceARN")
        url = queue_url(sqs, arn, cache)
    except SQSGetURLError as err:
        log.error("sqs_get_queue_url", {**details, "error": str(err)})
        raise

    handle = sqs_record.receipt_handle(record)
    try:
        if not handle:
            raise SQSDeleteError("the record has no receiptHandle")
        try:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
        except (ClientError, BotoCoreError) as err:
            if aws_clients.error_code(err) in _STALE_URL_CODES:
                cache.pop(arn, None)
            raise SQSDeleteError(aws_clients.describe("DeleteMessage", err)) from err
    except SQSDeleteError as err:
        log.error("sqs_delete_message", {**details, "error": str(err)})
        raise

    metrics.emit("MessagesDeleted", message_id=message_id)
    log.success("sqs_delete_message", details)
    return {"outcome": "deleted", "message_id": message_id}
