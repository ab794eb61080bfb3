"""SendMessage / SendMessageBatch rules moto 5.2.5 does not apply, as patches of its backend.

- Deduplication (FIFO-key-terms, API_SendMessage MessageDeduplicationId): a deduplication id
  (explicit or the body's SHA-256) is remembered for 5 minutes from its first send, even after
  the message was received and deleted; a send inside that window is accepted and not
  delivered. Scope: the queue, or the group with DeduplicationScope=messageGroup. moto only
  compares against messages still in the queue, with a scan of the queue per send; this keeps a
  window per queue, pruned oldest first (O(1) per send).
- MessageDeduplicationId and MessageGroupId: at most 128 characters, alphanumeric and
  punctuation only (API_SendMessage), else InvalidParameterValue.
- Size (API_SendMessage MessageBody, sqs-message-metadata): a message's body *and* its message
  attributes (name, type, value) count towards MaximumMessageSize, in bytes; so do they towards
  the 1 MiB of a whole batch (API_SendMessageBatch). moto counts body characters only.
- Delay (API_SendMessage DelaySeconds): a FIFO queue has no per-message delay, the queue's
  applies; moto lets an explicit DelaySeconds=0 skip it (a positive value stays refused).
- SequenceNumber (API_SendMessage SequenceNumber): every FIFO message gets one and it increases
  within a group; moto draws 20 random digits, and only for an explicit deduplication id.
"""

from __future__ import annotations

import base64
import functools
import itertools
import re
from collections import OrderedDict
from typing import Any

from moto.sqs import models
from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue

from local_aws.sqs.fast_queue import now_ms

DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000
_TOKEN = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_BATCH_LIMIT = models.MAXIMUM_MESSAGE_LENGTH  # 1 MiB for a whole SendMessageBatch
# Sequence numbers: 20 digits like AWS's, one increasing counter per queue.
_FIRST_SEQUENCE = 18_000_000_000_000_000_000


def check_token(name: str, value: str | None) -> None:
    if value is not None and not _TOKEN.fullmatch(value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {name} is invalid. Reason: {name} can only include "
            "alphanumeric and punctuation characters. 1 to 128 in length."
        )


def message_size(body: str, attributes: dict[str, Any] | None) -> int:
    """Bytes that count towards MaximumMessageSize: body + every attribute's name, type, value."""
    size = len(body.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8")) + len(str(attribute.get("DataType", "")).encode())
        if attribute.get("StringValue") is not None:
            size += len(attribute["StringValue"].encode("utf-8"))
        value = attribute.get("BinaryValue")
        if value is not None:
            size += len(value) if isinstance(value, bytes) else len(base64.b64decode(value))
    return size


def check_message(queue: Any, body: str, attributes: Any, dedup_id: Any, group_id: Any) -> None:
    size = message_size(body, attributes)
    if size > queue.maximum_message_size:
        raise InvalidParameterValue(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.maximum_message_size} bytes."
        )
    if queue.fifo_queue:
        check_token("MessageDeduplicationId", dedup_id)
        check_token("MessageGroupId", group_id)


def batch_error(entry_id: str, error: Any) -> dict[str, Any]:
    """A BatchResultErrorEntry for one entry that failed with `error`."""
    return {"Id": entry_id, "SenderFault": True, "Code": error.code, "Message": error.message}


def _send_message(original: Any) -> Any:
    @functools.wraps(original)
    def send_message(self, queue_name, message_body, message_attributes=None, **kwargs):
        queue = self.get_queue(queue_name)
        check_message(
            queue,
            message_body,
            message_attributes,
            kwargs.get("deduplication_id"),
            kwargs.get("group_id"),
        )
        delay = kwargs.get("delay_seconds")
        if queue.fifo_queue and delay is not None and int(delay) == 0:
            kwargs["delay_seconds"] = None  # the queue's delay applies
        return original(self, queue_name, message_body, message_attributes, **kwargs)

    return send_message


def _send_message_batch(original: Any) -> Any:
    """Entries that break a per-message rule fail alone (Failed), the others are sent."""

    @functools.wraps(original)
    def send_message_batch(self, queue_name, entries):
        queue = self.get_queue(queue_name)
        total = sum(
            message_size(e["MessageBody"], e.get("MessageAttributes")) for e in entries.values()
        )
        if total > _BATCH_LIMIT:
            raise BatchRequestTooLong(total)
        valid: dict[str, dict[str, Any]] = {}
        failed: list[dict[str, Any]] = []
        for key, entry in entries.items():
            try:
                check_message(
                    queue,
                    entry["MessageBody"],
                    entry.get("MessageAttributes"),
                    entry.get("MessageDeduplicationId"),
                    entry.get("MessageGroupId"),
                )
            except InvalidParameterValue as error:
                failed.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": True,
                        "Code": error.code,
                        "Message": error.message,
                    }
                )
            else:
                valid[key] = entry
        if not valid:
            return [], failed
        messages, more_failed = original(self, queue_name, valid)
        return messages, failed + more_failed

    return send_message_batch


def _add_message(original: Any) -> Any:
    """Deduplicate (window), number and append a FIFO message, atomically under the queue lock."""

    @functools.wraps(original)
    def add_message(self, message):
        if self.lambda_event_source_mappings:
            return original(self, message)  # moto's event source mapping path, unchanged
        with self._messages_lock:
            if self.fifo_queue:
                message.sequence_number = str(next(_sequence(self)))
                if _is_duplicate(self, message):
                    return  # accepted, not delivered
            self._messages.append(message)
            self._messages_lock.notify_all()

    return add_message


def _sequence(queue: Any) -> Any:
    counter = getattr(queue, "_local_aws_sequence", None)
    if counter is None:
        counter = queue._local_aws_sequence = itertools.count(_FIRST_SEQUENCE)
    return counter


def _is_duplicate(queue: Any, message: Any) -> bool:
    window: OrderedDict | None = getattr(queue, "_local_aws_dedup", None)
    if window is None:
        window = queue._local_aws_dedup = OrderedDict()
    now = now_ms()
    while window and next(iter(window.values())) <= now - DEDUPLICATION_WINDOW_MS:
        window.popitem(last=False)
    scope = message.group_id if queue.deduplication_scope == "messageGroup" else None
    key = (scope, message.deduplication_id)
    if key in window:
        return True
    window[key] = now
    return False


def install() -> None:
    models.SQSBackend.send_message = _send_message(models.SQSBackend.send_message)
    models.SQSBackend.send_message_batch = _send_message_batch(models.SQSBackend.send_message_batch)
    models.Queue.add_message = _add_message(models.Queue.add_message)
