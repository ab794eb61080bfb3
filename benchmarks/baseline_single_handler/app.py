"""The predecessor's design, for the benchmark's baseline (shared/seed README, facts only).

One Lambda triggered by the SQS FIFO queue does everything in sequence for each record:
parse the body, idempotency check (GetItem, consistent read), conditional PutItem
(attribute_not_exists(message_id)), DeleteMessage (queue URL resolved once and cached), and one
synchronous PutMetricData call per metric event, as the predecessor did. Same log line format.

It runs in the same local Lambda runtime, against the same endpoint, as the pipeline's four
functions, so the benchmark compares shapes, not environments. It is not a reference for
correctness: it keeps none of the fixes listed in docs/architecture.md ("The predecessor, and
what this design fixes").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3})
_ddb = boto3.client("dynamodb", config=_CONFIG)
_sqs = boto3.client("sqs", config=_CONFIG)
_cloudwatch = boto3.client("cloudwatch", config=_CONFIG)
_queue_urls: dict[str, str] = {}
TABLE = os.environ["TABLE_NAME"]
NAMESPACE = os.environ.get("METRICS_NAMESPACE", "BaselineSingleHandler")


def _log(trace_id, action, status, **details):
    line = {
        "trace_id": trace_id,
        "action": action,
        "status": status,
        "details": details,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
    }
    print(json.dumps(line, default=str))


def _metric(name: str) -> None:
    _cloudwatch.put_metric_data(
        Namespace=NAMESPACE, MetricData=[{"MetricName": name, "Value": 1, "Unit": "Count"}]
    )


def _queue_url(arn: str) -> str:
    url = _queue_urls.get(arn)
    if url is None:
        _, _, _, _, account, name = arn.split(":", 5)
        url = _sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        _queue_urls[arn] = url
    return url


def _process(record: dict) -> None:
    queue_name = record["eventSourceARN"].rsplit(":", 1)[-1]
    try:
        body = json.loads(record["body"])
        message_id = body["message_id"]
    except (ValueError, KeyError, TypeError) as exc:
        _log(
            record["messageId"], "message_received", "error", queue_name=queue_name, error=str(exc)
        )
        _metric("InvalidMessages")
        return
    _log(message_id, "message_received", "info", queue_name=queue_name)
    found = _ddb.get_item(
        TableName=TABLE, Key={"message_id": {"S": message_id}}, ConsistentRead=True
    )
    if "Item" not in found:
        try:
            _ddb.put_item(
                TableName=TABLE,
                Item={
                    "message_id": {"S": message_id},
                    "body_sha256": {"S": hashlib.sha256(record["body"].encode()).hexdigest()},
                    "body": {"S": record["body"]},
                    "message_group_id": {"S": record["attributes"]["MessageGroupId"]},
                    "processed_at": {"S": dt.datetime.now(dt.UTC).isoformat()},
                },
                ConditionExpression="attribute_not_exists(message_id)",
            )
        except _ddb.exceptions.ConditionalCheckFailedException:
            found = {"Item": {}}
        else:
            _log(message_id, "dynamodb_save", "success", queue_name=queue_name)
            _metric("MessagesSaved")
    if "Item" in found:
        _log(message_id, "message_skipped", "info", queue_name=queue_name)
        _metric("DuplicateMessages")
    _sqs.delete_message(
        QueueUrl=_queue_url(record["eventSourceARN"]), ReceiptHandle=record["receiptHandle"]
    )
    _log(message_id, "sqs_delete_message", "success", queue_name=queue_name)
    _metric("MessagesDeleted")


def lambda_handler(event, context):
    for record in event.get("Records", []):
        _process(record)
    return {"processed": len(event.get("Records", []))}
