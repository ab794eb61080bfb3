"""Validate: parse the SQS record's body and check it against its JSON Schemas.

Input: one raw SQS record. Output: docs/contract.md. Raises InvalidMessage (quarantined by the
workflow). The logic is in message_validation.py; this module only wires configuration, logging
and tracing, once per container.
"""

from pathlib import Path

import message_validation
from pipeline_common import config, tracing
from pipeline_common.errors import InvalidMessage
from pipeline_common.structured_logging import StructuredLogger

FUNCTION = "validate"
SETTINGS = config.common_settings()
LOG = StructuredLogger(FUNCTION, log_payloads=SETTINGS.log_payloads)
SCHEMAS = message_validation.load_schemas(Path(__file__).resolve().parent / "schemas")
tracing.configure(FUNCTION)


@tracing.traced_handler(
    FUNCTION,
    message_id=lambda: LOG.message_id,
    on_success=lambda result: {"message_id": result["message_id"], "outcome": "valid"},
    on_error=lambda _: {"outcome": "invalid"},
    errors=InvalidMessage,
)
def lambda_handler(record):
    return message_validation.validate_record(record, schemas=SCHEMAS, log=LOG)
