"""local_aws's changes to moto, installed by `apply()`.

The Step Functions interpreter's patches live in local_aws/stepfunctions/patches.py; the SQS
queue patch below replaces moto's `Queue.delete_message`, `Queue.attributes` and
`Message.mark_received` with equivalent, cheaper ones.
"""

from __future__ import annotations

import threading
from typing import Any

from local_aws.stepfunctions import patches as stepfunctions_patches
from local_aws.stepfunctions.patches import (  # noqa: F401  (LocalAWS wires the interpreter here)
    register_execution_trace,
    set_endpoint,
    set_lambda_invoker,
    set_role_credentials,
)


def _fast_sqs_queue() -> None:
    """Make moto's SQS queue cheaper per call when thousands of messages wait in it.

    Why: with a backlog (a benchmark sends 1,000 messages up front) every ReceiveMessage scans the
    whole queue and reads the clock twice per message through `unix_time_millis()` (datetime
    arithmetic, ~2 us), and every DeleteMessage scans the queue three times. Same semantics:
    - the clock is `time.time()` in ms (what `unix_time_millis()` computes, without datetimes);
    - DeleteMessage finds the message through an index of receipt handles (kept by
      `mark_received`) and replaces the list by a copy without it, as moto does (so a concurrent
      scan of the old list is unaffected); an unknown handle takes moto's own path (its error).
    """
    import time

    from moto.sqs import models

    if getattr(models.Queue.delete_message, "_local_aws", False):
        return
    models.unix_time_millis = lambda dt=None: (
        time.time() * 1000.0 if dt is None else models.unix_time(dt) * 1000.0
    )
    handles: dict[str, Any] = {}  # receipt handle -> Message (every handle it ever had)
    original_mark_received = models.Message.mark_received
    original_delete = models.Queue.delete_message

    def mark_received(self, visibility_timeout=None):
        original_mark_received(self, visibility_timeout)
        handles[self.receipt_handle] = self

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = handles.get(receipt_handle)
        if message is None:
            return original_delete(self, receipt_handle)
        # Under the lock add_message appends with, so a concurrent send is never lost
        # (moto's own rebuild-and-assign is not locked).
        with self._messages_lock:
            messages = list(self._messages)
            try:
                messages.remove(message)
            except ValueError:
                messages = None
            else:
                self._messages = messages
        if messages is None:  # not in this queue (another queue's handle): moto's answer
            return original_delete(self, receipt_handle)
        self.pending_messages.discard(message)
        for handle in message.all_receipt_handles:
            self.deleted_messages.add(handle)
            handles.pop(handle, None)

    delete_message._local_aws = True
    models.Message.mark_received = mark_received
    models.Queue.delete_message = delete_message

    # Queue.attributes (read by every send, to check ContentBasedDeduplication, and by every
    # receive, for MessageRetentionPeriod) computes the three Approximate* counts with three
    # scans of the queue. Count them in one scan with one clock read; same values.
    original_attributes = models.Queue.attributes.fget
    counting = threading.local()

    def attributes(self):
        now = time.time() * 1000.0
        visible = not_visible = delayed = 0
        for message in self._messages:
            is_delayed = now < message.delayed_until
            delayed += is_delayed
            if not now > message.visible_at:
                not_visible += 1
            elif not is_delayed:
                visible += 1
        counting.values = (id(self), visible, not_visible, delayed)
        try:
            return original_attributes(self)
        finally:
            counting.values = None

    def counted(index: int, original: Any) -> property:
        def getter(self):
            values = getattr(counting, "values", None)
            if values is not None and values[0] == id(self):
                return values[index]
            return original.fget(self)

        return property(getter)

    for index, name in enumerate(
        (
            "approximate_number_of_messages",
            "approximate_number_of_messages_not_visible",
            "approximate_number_of_messages_delayed",
        ),
        start=1,
    ):
        setattr(models.Queue, name, counted(index, getattr(models.Queue, name)))
    models.Queue.attributes = property(attributes)


def apply() -> None:
    """Install every patch (each one is idempotent)."""
    stepfunctions_patches.apply()
    _fast_sqs_queue()
