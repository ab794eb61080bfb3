"""Delete: delete the SQS message by receipt handle (queue URL from eventSourceARN, cached).

Input: the work item (raw SQS record, on the happy path and the quarantine path). Output:
{"outcome": "deleted", "message_id"}. Raises SQSGetURLError, SQSDeleteError. Logic in
queue_delete.py.
"""

import queue_delete
from pipeline_common import aws_clients, config, tracing
from pipeline_common.metrics import Metrics
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "delete"
SETTINGS = config.common_settings()
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
METRICS = Metrics(SETTINGS.metrics_namespace, function=FUNCTION)
tracing.configure(FUNCTION)
SQS = aws_clients.client("sqs")
QUEUE_URLS: dict[str, str] = {}  # eventSourceARN -> queue URL, for the life of the container


@tracing.traced_handler(FUNCTION, message_id=lambda: LOG.message_id)
def lambda_handler(record):
    return queue_delete.delete(record, sqs=SQS, cache=QUEUE_URLS, log=LOG, metrics=METRICS)
