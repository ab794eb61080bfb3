"""CheckIdempotency: new | duplicate | PayloadMismatch for the record's message_id.

Input: the work item (raw SQS record + `validated`). Output: docs/CONTRACT.md. Raises
PayloadMismatch, DynamoDBCheckError. Logic in idempotency_check.py.
"""

import idempotency_check
from pipeline_common import aws_clients, config, tracing
from pipeline_common import record as sqs_record
from pipeline_common.errors import PipelineError
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "check_idempotency"
SETTINGS = config.common_settings()
TABLE_NAME = config.require("TABLE_NAME")
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
METRICS = Metrics(SETTINGS.metrics_namespace, function=FUNCTION)
tracing.configure(FUNCTION)
DYNAMODB = aws_clients.client("dynamodb")


def lambda_handler(event, context):
    record = sqs_record.unwrap(event)
    with tracing.subsegment(f"## {FUNCTION}"):
        tracing.annotate(message_group_id=sqs_record.message_group_id(record))
        try:
            result = idempotency_check.check(
                record, dynamodb=DYNAMODB, table_name=TABLE_NAME, log=LOG, metrics=METRICS
            )
        except PipelineError as err:
            tracing.annotate(message_id=LOG.message_id, outcome=type(err).__name__)
            raise
        tracing.annotate(message_id=result["message_id"], outcome=result["outcome"])
        return result
