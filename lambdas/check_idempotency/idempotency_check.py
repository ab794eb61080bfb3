"""CheckIdempotency: is this message_id already stored, and with the same body?

A strongly consistent GetItem (only message_id, body_sha256 and dlq_retry are read) gives one of:
- no item: outcome "new";
- an item with the same body_sha256 (which leaves out dlq_retry, so a copy redriven from the DLQ
  is the same message): outcome "duplicate" (DuplicateMessages is counted here);
  an item without body_sha256 (written by the predecessor, which kept no hash) counts as a
  duplicate too, since idempotency on message_id is the contract it was written under;
- an item with another body_sha256: PayloadMismatch, which the workflow quarantines.
Any DynamoDB failure raises DynamoDBCheckError (the cause chained, its text naming the AWS code),
so the workflow fails the batch and SQS redelivers it: nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pipeline_common import aws_clients
from pipeline_common import message as message_codec
from pipeline_common import record as sqs_record
from pipeline_common.errors import DynamoDBCheckError, PayloadMismatch
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

PROJECTION = message_codec.STORED_FINGERPRINT_ATTRIBUTES


def stored_item(dynamodb: Any, table_name: str, message_id: str) -> dict[str, Any] | None:
    """The stored item's fingerprint attributes, or None. Raises the client's own exceptions."""
    response = dynamodb.get_item(
        TableName=table_name,
        Key={"message_id": {"S": message_id}},
        ConsistentRead=True,
        ProjectionExpression=PROJECTION,
    )
    return response.get("Item")


def check(
    record: Mapping[str, Any],
    *,
    dynamodb: Any,
    table_name: str,
    log: StructuredLogger,
    metrics: Metrics,
) -> dict[str, Any]:
    log.start(record)
    message, body_sha256 = message_codec.fingerprint(sqs_record.body(record))
    message_id = message_codec.require_message_id(message)
    log.set_message_id(message_id)
    try:
        item = stored_item(dynamodb, table_name, message_id)
    except (ClientError, BotoCoreError) as err:
        text = aws_clients.describe("GetItem", err)
        log.error("idempotency_check", {"table": table_name, "error": text})
        raise DynamoDBCheckError(text) from err
    if item is None:
        log.success("idempotency_check", {"table": table_name, "outcome": "new"})
        return {"outcome": "new", "message_id": message_id}
    stored = item.get("body_sha256", {}).get("S")
    if message_codec.same_as_stored_item(message, item):
        metrics.emit("DuplicateMessages", message_id=message_id)
        log.info(
            "message_skipped",
            {"reason": "duplicate", "outcome": "duplicate", "stored_hash": stored is not None},
        )
        return {"outcome": "duplicate", "message_id": message_id}
    text = message_codec.mismatch_text(message_id, stored, body_sha256)
    log.error("idempotency_check", {"outcome": "payload_mismatch", "error": text})
    raise PayloadMismatch(text)
