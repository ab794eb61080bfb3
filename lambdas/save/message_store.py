"""Save: write the stored item (docs/contract.md) with a conditional put on message_id.

The body is decoded again with Decimal for non-integer numbers, so amounts are stored exactly as
sent (DynamoDB refuses floats; money must not pass through binary floating point).

`attribute_not_exists(message_id)` makes the write exactly-once. When it fails, another execution
stored the id between our CheckIdempotency and this put (the race the predecessor counted as a
save error). ReturnValuesOnConditionCheckFailure=ALL_OLD returns the winner's item in the same
call, which tells a true duplicate (same body_sha256: DuplicateMessage, counted in
DuplicateMessages) from a conflict (other body: PayloadMismatch, quarantined by the workflow).
Every other failure raises DynamoDBSaveError, so the batch fails and is redelivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import DecimalException
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pipeline_common import aws_clients
from pipeline_common import message as message_codec
from pipeline_common import record as sqs_record
from pipeline_common.clock import utc_iso
from pipeline_common.errors import DuplicateMessage, DynamoDBSaveError, PayloadMismatch
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger, xray_trace_id

CONDITION = "attribute_not_exists(message_id)"
SECONDS_PER_DAY = 86_400
TTL_ATTRIBUTE = "expires_at"
MESSAGE_FIELDS = ("message_id", "timestamp", "source", "type", "dlq_retry", "payload")
_SERIALIZER = TypeSerializer()


def build_item(
    record: Mapping[str, Any],
    message: Mapping[str, Any],
    body_sha256: str,
    *,
    now: float,
    ttl_days: int,
) -> dict[str, Any]:
    """The stored item as Python values (numbers as int/Decimal); None values are left out."""
    item: dict[str, Any] = {field: message.get(field) for field in MESSAGE_FIELDS}
    item.update(
        body_sha256=body_sha256,
        sqs_message_id=sqs_record.sqs_message_id(record),
        message_group_id=sqs_record.message_group_id(record),
        sequence_number=sqs_record.sequence_number(record),
        receive_count=sqs_record.receive_count(record),
        execution_id=sqs_record.execution_id(record),
        xray_trace_id=xray_trace_id(),
        processed_at=utc_iso(now),
    )
    if ttl_days > 0:
        item[TTL_ATTRIBUTE] = int(now) + ttl_days * SECONDS_PER_DAY
    return {key: value for key, value in item.items() if value is not None}


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in item.items()}


def _winner_sha256(
    err: ClientError, dynamodb: Any, table_name: str, message_id: str
) -> tuple[bool, str | None]:
    """(an item exists, its body_sha256) for the item that won the conditional put."""
    old = err.response.get("Item")
    if old is None:
        # An endpoint that ignores ReturnValuesOnConditionCheckFailure: read it instead.
        old = dynamodb.get_item(
            TableName=table_name,
            Key={"message_id": {"S": message_id}},
            ConsistentRead=True,
            ProjectionExpression="message_id, body_sha256",
        ).get("Item")
    if old is None:
        return False, None
    return True, old.get("body_sha256", {}).get("S")


def save(
    record: Mapping[str, Any],
    *,
    dynamodb: Any,
    table_name: str,
    ttl_days: int,
    log: StructuredLogger,
    metrics: Metrics,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    log.start(record)
    body = sqs_record.body(record)
    _, body_sha256 = message_codec.fingerprint(body)
    message = message_codec.decode_body(body, exact_numbers=True)
    message_id = message_codec.require_message_id(message)
    log.set_message_id(message_id)
    details: dict[str, Any] = {"table": table_name}

    try:
        item = serialize(
            build_item(record, message, body_sha256, now=(clock or time.time)(), ttl_days=ttl_days)
        )
    except (TypeError, DecimalException) as err:
        text = f"the message cannot be serialised for DynamoDB: {type(err).__name__}"
        log.error("dynamodb_save", {**details, "error": text})
        raise DynamoDBSaveError(text) from err

    try:
        dynamodb.put_item(
            TableName=table_name,
            Item=item,
            ConditionExpression=CONDITION,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as err:
        if aws_clients.error_code(err) != "ConditionalCheckFailedException":
            text = aws_clients.describe("PutItem", err)
            log.error("dynamodb_save", {**details, "error": text})
            raise DynamoDBSaveError(text) from err
        lost_to = err
    except BotoCoreError as err:
        text = aws_clients.describe("PutItem", err)
        log.error("dynamodb_save", {**details, "error": text})
        raise DynamoDBSaveError(text) from err
    else:
        metrics.emit("MessagesSaved", message_id=message_id)
        log.success("dynamodb_save", {**details, "outcome": "saved"})
        return {"outcome": "saved", "message_id": message_id}

    # Lost the race: decide between a duplicate and a conflict.
    try:
        exists, stored = _winner_sha256(lost_to, dynamodb, table_name, message_id)
    except (ClientError, BotoCoreError) as err:
        text = aws_clients.describe("GetItem after ConditionalCheckFailed", err)
        log.error("dynamodb_save", {**details, "error": text})
        raise DynamoDBSaveError(text) from err
    if not exists:
        text = "PutItem condition failed but no item is stored (deleted meanwhile?); retry"
        log.error("dynamodb_save", {**details, "error": text})
        raise DynamoDBSaveError(text)
    if stored is None or stored == body_sha256:
        metrics.emit("DuplicateMessages", message_id=message_id)
        log.info("message_skipped", {**details, "reason": "duplicate", "outcome": "lost_race"})
        raise DuplicateMessage(f"message_id {message_id} was stored by another execution first")
    text = message_codec.mismatch_text(message_id, stored, body_sha256)
    log.error("dynamodb_save", {**details, "outcome": "payload_mismatch", "error": text})
    raise PayloadMismatch(text)
