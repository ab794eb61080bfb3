"""Every typed error the Lambdas raise.

Lambda reports a raised exception to Step Functions with the bare class name as the error name,
so these class names are the `ErrorEquals` names in statemachine/pipeline.asl.json. Renaming one
is a breaking change to the workflow.
"""


class PipelineError(Exception):
    """Base class; never raised itself."""


class ConfigurationError(PipelineError):
    """A required environment variable is missing or malformed (raised at import time)."""


class InvalidMessage(PipelineError):
    """The body is not a JSON object, holds NaN/Infinity, or fails its JSON Schema."""


class PayloadMismatch(PipelineError):
    """A message_id already stored with a different body: a conflict to quarantine, not a dup."""


class DuplicateMessage(PipelineError):
    """The conditional put lost the race: another execution stored this message_id first."""


class DynamoDBCheckError(PipelineError):
    """The idempotency read failed."""


class DynamoDBSaveError(PipelineError):
    """The conditional put failed for a reason other than the condition."""


class SQSGetURLError(PipelineError):
    """GetQueueUrl failed for the record's eventSourceARN."""


class SQSDeleteError(PipelineError):
    """DeleteMessage failed for the record's receipt handle."""
