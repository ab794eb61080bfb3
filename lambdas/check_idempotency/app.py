"""CheckIdempotency: new | duplicate | PayloadMismatch for the record's message_id.

Input: the work item (raw SQS record + `validated`). Output: docs/contract.md. Raises
PayloadMismatch, DynamoDBCheckError. Logic in idempotency_check.py.
"""

import idempotency_check
from pipeline_common import aws_clients, config, tracing
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "check_idempotency"
SETTINGS = config.common_settings()
TABLE_NAME = config.require("TABLE_NAME")
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
METRICS = Metrics(SETTINGS.metrics_namespace, function=FUNCTION)
tracing.configure(FUNCTION)
DYNAMODB = aws_clients.client("dynamodb")


@tracing.traced_handler(FUNCTION, message_id=lambda: LOG.message_id)
def lambda_handler(record):
    return idempotency_check.check(
        record, dynamodb=DYNAMODB, table_name=TABLE_NAME, log=LOG, metrics=METRICS
    )
