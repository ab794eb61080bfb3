"""Save: conditional put of the stored item (docs/contract.md).

Input: the work item (raw SQS record + `validated`). Output: {"outcome": "saved", "message_id"}.
Raises DuplicateMessage, PayloadMismatch, DynamoDBSaveError. Logic in message_store.py.
"""

import message_store
from pipeline_common import aws_clients, config, tracing
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


@tracing.traced_handler(FUNCTION, message_id=lambda: LOG.message_id)
def lambda_handler(record):
    return message_store.save(
        record,
        dynamodb=DYNAMODB,
        table_name=TABLE_NAME,
        ttl_days=TTL_DAYS,
        log=LOG,
        metrics=METRICS,
    )
