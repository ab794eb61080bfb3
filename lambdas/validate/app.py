"""Validate: parse the SQS record's body and check it against its JSON Schemas.

Input: one raw SQS record. Output: docs/CONTRACT.md. Raises InvalidMessage (quarantined by the
workflow). The logic is in message_validation.py; this module only wires configuration, logging
and tracing, once per container.
"""

from pathlib import Path

import message_validation
from pipeline_common import config, tracing
from pipeline_common import record as sqs_record
from pipeline_common.errors import InvalidMessage
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "validate"
SETTINGS = config.common_settings()
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
SCHEMAS = message_validation.load_schemas(Path(__file__).resolve().parent / "schemas")
tracing.configure(FUNCTION)


def lambda_handler(event, context):
    record = sqs_record.unwrap(event)
    with tracing.subsegment(f"## {FUNCTION}"):
        tracing.annotate(message_group_id=sqs_record.message_group_id(record))
        try:
            result = message_validation.validate_record(record, schemas=SCHEMAS, log=LOG)
        except InvalidMessage:
            tracing.annotate(outcome="invalid")
            raise
        tracing.annotate(message_id=result["message_id"], outcome="valid")
        return result
