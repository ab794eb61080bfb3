"""Save: conditional put of the stored item (docs/CONTRACT.md).

Input: the work item (raw SQS record + `validated`). Output: {"outcome": "saved", "message_id"}.
Raises DuplicateMessage, PayloadMismatch, DynamoDBSaveError. Logic in message_store.py.
"""

import message_store
from pipeline_common import aws_clients, config, tracing
from pipeline_common import record as sqs_record
from pipeline_common.errors import PipelineError
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "save"
SETTINGS = config.common_settings()
TABLE_NAME = config.require("TABLE_NAME")
TTL_DAYS = config.non_negative_int("IDEMPOTENCY_TTL_DAYS", default=0)
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
METRICS = Metrics(SETTINGS.metrics_namespace, function=FUNCTION)
tracing.configure(FUNCTION)
DYNAMODB = aws_clients.client("dynamodb")


def lambda_handler(event, context):
    record = sqs_record.unwrap(event)
    with tracing.subsegment(f"## {FUNCTION}"):
        tracing.annotate(message_group_id=sqs_record.message_group_id(record))
        try:
            result = message_store.save(
                record,
                dynamodb=DYNAMODB,
                table_name=TABLE_NAME,
                ttl_days=TTL_DAYS,
                log=LOG,
                metrics=METRICS,
            )
        except PipelineError as err:
            tracing.annotate(message_id=LOG.message_id, outcome=type(err).__name__)
            raise
        tracing.annotate(message_id=result["message_id"], outcome=result["outcome"])
        return result
