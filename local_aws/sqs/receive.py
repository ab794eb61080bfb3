"""ReceiveMessage, owned here instead of patched: moto's loop cannot be fixed piecemeal.

moto 5.2.5's `SQSBackend.receive_message` takes the set of locked FIFO groups once per call
(and keeps it for a whole long poll), only locks a group through the messages *it* handed out,
interleaves groups, scans without the queue lock (two concurrent receives can hand out one
group twice) and `deepcopy`s every message. Each of those is a line in the middle of one loop,
so this module replaces the loop (about as long as moto's) with one that, per AWS:

- returns as many messages of one group as possible, oldest group first, in send order, and
  nothing of a group while any of its messages is in flight, to anyone
  (API_ReceiveMessage, ReceiveRequestAttemptId; FIFO-queues-understanding-logic);
- re-evaluates that on every wake-up of a long poll: a send, a delete, a visibility change, or
  the moment the next message becomes visible or its delay ends;
- keeps each message at its place in the queue, so after a visibility timeout a group's
  messages come back in their original order;
- moves a message whose ApproximateReceiveCount reached the redrive policy's maxReceiveCount
  to the dead-letter queue instead of returning it, remembering its source queue's ARN
  (MessageSystemAttributeName DeadLetterQueueSourceArn; sqs-dead-letter-queues).

One pass over the queue per attempt (moto's is one pass too), under the queue's lock.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections import Counter
from typing import Any

from moto.sqs import models

from local_aws.sqs.fast_queue import now_ms

# MessageId -> ARN of the queue SQS moved it from (read by the ReceiveMessage response).
dead_letter_source_arns: dict[str, str] = {}
_MAX_WAKE_S = 1.0  # a long poll also wakes this often (clock changes nobody notifies)


def _select(queue: Any, count: int, now: float) -> tuple[list[Any], list[Any], float]:
    """(messages to hand out, messages to move to the DLQ, when something next changes)."""
    fifo = queue.fifo_queue
    max_receives = None
    if queue.dead_letter_queue is not None and queue.redrive_policy:
        max_receives = queue.redrive_policy["maxReceiveCount"]
    retention_ms = int(queue.message_retention_period) * 1000.0
    locked: set[Any] = set()
    closed: set[Any] = set()  # groups whose next message is delayed: nothing may overtake it
    candidates: dict[Any, list[Any]] = {}  # group -> available messages, oldest first
    deliverable_in: Counter = Counter()
    deliverable = 0
    next_change = math.inf
    for message in queue._messages:
        group = message.group_id if fifo else message
        if now <= message.visible_at:  # in flight
            locked.add(group)
            next_change = min(next_change, message.visible_at)
            continue
        if now < message.delayed_until:
            closed.add(group)
            next_change = min(next_change, message.delayed_until)
            continue
        if now - message.sent_timestamp >= retention_ms or group in closed:
            continue
        to_dlq = max_receives is not None and message.approximate_receive_count >= max_receives
        if not to_dlq:
            if deliverable_in[group] >= count or (not fifo and deliverable >= count):
                continue  # enough to choose from
            deliverable_in[group] += 1
            deliverable += 1
        candidates.setdefault(group, []).append(message)
    chosen: list[Any] = []
    redriven: list[Any] = []
    for group, waiting in candidates.items():
        if fifo and group in locked:
            continue
        for message in waiting:
            if max_receives is not None and message.approximate_receive_count >= max_receives:
                redriven.append(message)
            elif len(chosen) < count:
                chosen.append(message)
        if len(chosen) >= count:
            break
    return chosen, redriven, next_change


def _redrive(queue: Any, messages: list[Any]) -> None:
    """Append messages already taken out of `queue` (under its lock) to its dead-letter queue."""
    dlq = queue.dead_letter_queue
    with dlq._messages_lock:
        for message in messages:
            dead_letter_source_arns[message.id] = queue.queue_arn
            dlq._messages.append(message)
        dlq._messages_lock.notify_all()


def receive_message(
    self: Any,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    queue = self.get_queue(queue_name)
    deadline = time.monotonic() + wait_seconds_timeout
    while True:
        with queue._messages_lock:
            now = now_ms()
            chosen, redriven, next_change = _select(queue, count, now)
            for message in chosen:
                queue.pending_messages.add(message)
                message.mark_received(visibility_timeout=visibility_timeout)
            if redriven:  # out of the queue now, so no other receive can take them too
                moved = set(map(id, redriven))
                queue._messages = [m for m in queue._messages if id(m) not in moved]
            remaining = deadline - time.monotonic()
            if not chosen and not redriven and remaining > 0:
                wake = min(remaining, _MAX_WAKE_S, max(0.0, (next_change - now) / 1000.0))
                queue._messages_lock.wait(wake + 0.001)
                continue
        if redriven:
            _redrive(queue, redriven)
            if not chosen and deadline - time.monotonic() > 0:
                continue  # the group's next message may be deliverable now
        return [_snapshot(m, message_attribute_names or []) for m in chosen]


def _snapshot(message: Any, attribute_names: list[str]) -> Any:
    """What the response reads, as of this receive (moto deep-copies the whole message)."""
    snapshot = copy.copy(message)
    models._filter_message_attributes(snapshot, attribute_names)
    return snapshot


def _change_visibility_wakes(original: Any) -> Any:
    @functools.wraps(original)
    def change_message_visibility(self, queue_name, receipt_handle, visibility_timeout):
        original(self, queue_name, receipt_handle, visibility_timeout)
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            queue._messages_lock.notify_all()

    return change_message_visibility


def install() -> None:
    receive_message.replaces = models.SQSBackend.receive_message  # pinned by the contract test
    models.SQSBackend.receive_message = receive_message
    models.SQSBackend.change_message_visibility = _change_visibility_wakes(
        models.SQSBackend.change_message_visibility
    )
