"""Accessors for the work item every Lambda receives: one raw SQS record (docs/contract.md) to
which the workflow adds result keys (`validated`, `idempotency`, ..., see docs/contract.md).

They never raise on a missing key: a record is data from outside, and each function decides what
a missing value means for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def unwrap(event: Any) -> Mapping[str, Any]:
    """The SQS record a function was invoked with.

    The workflow passes one record. A one-record pipe event (a JSON array, as in
    events/pipe/*.json) is accepted too, so a sample can be handed to one function as is.
    """
    if isinstance(event, list) and len(event) == 1:
        event = event[0]
    if not isinstance(event, Mapping):
        raise TypeError(
            "expected one SQS record (a JSON object) or a one-record array, "
            f"got {type(event).__name__}"
            + (f" of {len(event)} items" if isinstance(event, list) else "")
        )
    return event


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def attributes(record: Mapping[str, Any]) -> Mapping[str, Any]:
    value = record.get("attributes")
    return value if isinstance(value, Mapping) else {}


def sqs_message_id(record: Mapping[str, Any]) -> str | None:
    return _text(record.get("messageId"))


def receipt_handle(record: Mapping[str, Any]) -> str | None:
    return _text(record.get("receiptHandle"))


def body(record: Mapping[str, Any]) -> Any:
    return record.get("body")


def event_source_arn(record: Mapping[str, Any]) -> str | None:
    return _text(record.get("eventSourceARN"))


def message_group_id(record: Mapping[str, Any]) -> str | None:
    return _text(attributes(record).get("MessageGroupId"))


def sequence_number(record: Mapping[str, Any]) -> str | None:
    return _text(attributes(record).get("SequenceNumber"))


def receive_count(record: Mapping[str, Any]) -> int | None:
    """ApproximateReceiveCount as an int (SQS sends every attribute as a string)."""
    raw = attributes(record).get("ApproximateReceiveCount")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def validated(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the workflow kept of Validate's result: message_id, type, body_sha256, execution_id."""
    value = record.get("validated")
    return value if isinstance(value, Mapping) else {}


def execution_id(record: Mapping[str, Any]) -> str | None:
    return _text(validated(record).get("execution_id"))


def message_id_hint(record: Mapping[str, Any]) -> str | None:
    """The message_id Validate found, when the record has been through Validate."""
    return _text(validated(record).get("message_id"))


def sqs_metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    """The `sqs` block of Validate's result (docs/contract.md)."""
    return {
        "message_id": sqs_message_id(record),
        "receipt_handle": receipt_handle(record),
        "message_group_id": message_group_id(record),
        "event_source_arn": event_source_arn(record),
        "receive_count": receive_count(record),
        "sequence_number": sequence_number(record),
    }
