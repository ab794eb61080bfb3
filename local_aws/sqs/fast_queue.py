"""Make moto's SQS queue cheaper per call when thousands of messages wait in it.

Why: with a backlog (a benchmark sends 1,000 messages up front) every DeleteMessage scans the
queue three times, every GetQueueAttributes three more, and the clock is read through
`unix_time_millis()` (datetime arithmetic, ~2 us) twice per message per scan. Same semantics:
- the clock is `time.time()` in ms (what `unix_time_millis()` computes, without datetimes);
- DeleteMessage finds the message through an index of receipt handles (kept by `mark_received`)
  and replaces the list by a copy without it, as moto does (so a concurrent scan of the old list
  is unaffected); an unknown handle takes moto's own path (its error);
- the three Approximate* counts of `Queue.attributes` come from one scan with one clock read.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from moto.sqs import models

_handles: dict[str, Any] = {}  # receipt handle -> Message (every handle it ever had)


def message_for(receipt_handle: str) -> Any:
    """The message that was given this receipt handle (any of its receives), or None."""
    return _handles.get(receipt_handle)


def now_ms() -> float:
    return time.time() * 1000.0


def _mark_received(original: Any) -> Any:
    @functools.wraps(original)
    def mark_received(self, visibility_timeout=None):
        original(self, visibility_timeout)
        _handles[self.receipt_handle] = self

    return mark_received


def _delete_message(original: Any) -> Any:
    @functools.wraps(original)
    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = _handles.get(receipt_handle)
        if message is None:
            return original(self, receipt_handle)
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
                self._messages_lock.notify_all()  # its group may be unlocked: wake long polls
        if messages is None:  # not in this queue (another queue's handle): moto's answer
            return original(self, receipt_handle)
        self.pending_messages.discard(message)
        for handle in message.all_receipt_handles:
            self.deleted_messages.add(handle)
            _handles.pop(handle, None)

    return delete_message


def _one_scan_attributes() -> None:
    original_attributes = models.Queue.attributes.fget
    counting = threading.local()

    def attributes(self):
        now = now_ms()
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

    names = (
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    )
    for index, name in enumerate(names, start=1):
        setattr(models.Queue, name, counted(index, getattr(models.Queue, name)))
    models.Queue.attributes = property(attributes)


def install() -> None:
    models.unix_time_millis = lambda dt=None: (
        now_ms() if dt is None else models.unix_time(dt) * 1000.0
    )
    models.Message.mark_received = _mark_received(models.Message.mark_received)
    models.Queue.delete_message = _delete_message(models.Queue.delete_message)
    _one_scan_attributes()
