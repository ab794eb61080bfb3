"""One JSON object per line on stdout, the predecessor's log format plus correlation keys.

    {"trace_id": "<message_id>", "action": "...", "status": "info|success|error",
     "details": {...}, "timestamp": "<UTC ISO-8601>",
     "function": "...", "sqs_message_id": "...", "message_group_id": "...", "xray_trace_id": "..."}

`trace_id` is the message's message_id once the body is parsed, and the SQS messageId before
that (or when the body has none). Payload values carry personal and financial data, so they are
only written when LOG_PAYLOADS=true: callers hand them over in the separate `payload` argument,
never inside `details`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_xray_sdk.core.models.trace_header import TraceHeader

from . import record as sqs_record
from .clock import utc_iso

STATUSES = ("info", "success", "error")


def xray_trace_id() -> str | None:
    """The Root of the current Lambda trace header (_X_AMZN_TRACE_ID), None outside Lambda."""
    return TraceHeader.from_header_str(os.environ.get("_X_AMZN_TRACE_ID", "")).root or None


class StructuredLogger:
    """Writes the log lines of one function; `start()` resets the correlation per invocation."""

    def __init__(self, function: str, *, log_payloads: bool = False) -> None:
        self.function = function
        self.log_payloads = log_payloads
        self._message_id: str | None = None
        self._sqs_message_id: str | None = None
        self._message_group_id: str | None = None

    def start(self, record: Mapping[str, Any] | None) -> None:
        """Take the correlation keys from an SQS record (the message_id once known, see below)."""
        record = record if isinstance(record, Mapping) else {}
        self._sqs_message_id = sqs_record.sqs_message_id(record)
        self._message_group_id = sqs_record.message_group_id(record)
        self._message_id = sqs_record.message_id_hint(record)

    def set_message_id(self, message_id: Any) -> None:
        if isinstance(message_id, str) and message_id:
            self._message_id = message_id

    @property
    def message_id(self) -> str | None:
        """The message's message_id, once known in this invocation."""
        return self._message_id

    @property
    def trace_id(self) -> str | None:
        return self._message_id or self._sqs_message_id

    def event(
        self,
        action: str,
        status: str,
        details: Mapping[str, Any] | None = None,
        *,
        payload: Any = None,
    ) -> dict[str, Any]:
        """Write one line and return it as a dict (handy for tests)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        details = dict(details or {})
        if payload is not None and self.log_payloads:
            details["payload"] = payload
        entry = {
            "trace_id": self.trace_id,
            "action": action,
            "status": status,
            "details": details,
            "timestamp": utc_iso(),
            "function": self.function,
            "sqs_message_id": self._sqs_message_id,
            "message_group_id": self._message_group_id,
            "xray_trace_id": xray_trace_id(),
        }
        # sys.stdout is looked up on each call so that test capture and the Lambda runtime both
        # see the line; default=str keeps Decimal and other odd values from breaking a log line.
        sys.stdout.write(json.dumps(entry, default=str) + "\n")
        sys.stdout.flush()
        return entry

    def info(self, action: str, details: Mapping[str, Any] | None = None, **kw: Any) -> dict:
        return self.event(action, "info", details, **kw)

    def success(self, action: str, details: Mapping[str, Any] | None = None, **kw: Any) -> dict:
        return self.event(action, "success", details, **kw)

    def error(self, action: str, details: Mapping[str, Any] | None = None, **kw: Any) -> dict:
        return self.event(action, "error", details, **kw)
