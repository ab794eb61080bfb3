"""boto3 clients with the pipeline's timeouts and retries, created once per container.

boto3 honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) natively, which is how the local
stack points the functions at its endpoint; nothing here needs to know about it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode (exponential backoff with jitter; retries throttling and transient errors)
# with 3 attempts in all (`total_max_attempts`; botocore's `max_attempts` counts retries only),
# and 1 s timeouts: a function has 3 s (template Globals), the workflow retries the whole task,
# and a pipe invocation has 5 minutes for the entire batch.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=1,
)


def client(service: str) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)


def error_code(err: BaseException) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(err).__name__


def describe(operation: str, err: BaseException) -> str:
    """'<Operation> failed: <code>: <message>' for a typed error's text."""
    response = getattr(err, "response", None)
    message = ""
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message") or "")
    if not message:
        message = str(err)
    return f"{operation} failed: {error_code(err)}: {message}"[:1000]
