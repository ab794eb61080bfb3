"""Read a dead-letter queue without losing or reordering anything.

SQS has no "peek": a message is read by receiving it, which hides it for a visibility timeout, and
a FIFO queue hands out nothing more of a message group while one of its messages is in flight.
So one *pass* receives every message it can (hidden for HOLD_S seconds, so the pass sees each
message once), and then makes every message it did not delete visible again at once
(ChangeMessageVisibility 0): the queue is left as it was, in its order, its groups unlocked. If
the tool dies mid-pass, the messages come back by themselves after HOLD_S.

A FIFO receive returns at most 10 messages, and messages of a group that has more than those in
flight stay hidden behind them: a pass reports how many it could not read (`unread`, from
ApproximateNumberOfMessages while it holds the rest). A redrive makes room as it deletes and so
reads on in further passes.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline_tools.observer import body_message_id

HOLD_S = 30  # visibility while a pass holds the messages (restored to 0 when the pass ends)
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
QUARANTINED = "quarantined"  # sent by the workflow's QuarantineMessage, with a reason
DEAD_LETTERED = "dead-lettered"  # moved by SQS after maxReceiveCount failed receives


@dataclass
class DeadLetter:
    """One message of the DLQ and what is known about it."""

    sqs_message_id: str
    group: str | None
    sent_at: float | None  # epoch seconds (SentTimestamp)
    dlq_receive_count: int
    message_id: str | None  # the body's message_id, when the body is an object with one
    kind: str  # QUARANTINED | DEAD_LETTERED
    source_message_id: str  # the SQS message id it had in the source queue
    attributes: dict[str, str] = field(default_factory=dict)  # message attributes (strings)
    reason: str = "unknown"
    reason_detail: str | None = None
    failed_state: str | None = None
    failed_receives: int | None = None
    runs: list[str] = field(default_factory=list)  # run ids (`runs show <run id>`)
    copies: int = 1  # DLQ messages sharing this source_message_id
    stored: bool | None = None  # is message_id in the table (None: unknown)
    body: str = field(default="", repr=False)
    receipt_handle: str = field(default="", repr=False)

    def age_s(self, now: float | None = None) -> float | None:
        if self.sent_at is None:
            return None
        return max(0.0, (now or time.time()) - self.sent_at)

    def to_dict(self, *, include_body: bool = False) -> dict[str, Any]:
        out = asdict(self)
        out.pop("receipt_handle")
        out["age_s"] = self.age_s()
        if not include_body:
            out.pop("body")
        return out


def cause_text(cause: str | None) -> str | None:
    """A Step Functions error cause, readable: a Lambda error's JSON (errorType, errorMessage,
    stackTrace) becomes its errorMessage; anything else stays as it is."""
    try:
        data = json.loads(cause) if cause else None
    except ValueError:
        return cause
    if isinstance(data, dict) and isinstance(data.get("errorMessage"), str):
        return data["errorMessage"]
    return cause


def dead_letter(message: dict[str, Any]) -> DeadLetter:
    """A DeadLetter from one ReceiveMessage entry (system and message attributes "All")."""
    system = message.get("Attributes") or {}
    attributes = {
        name: value["StringValue"]
        for name, value in (message.get("MessageAttributes") or {}).items()
        if "StringValue" in value
    }
    quarantined = "reason" in attributes and "source_message_id" in attributes
    sent = system.get("SentTimestamp")
    return DeadLetter(
        sqs_message_id=message["MessageId"],
        group=system.get("MessageGroupId"),
        sent_at=int(sent) / 1000 if sent else None,
        dlq_receive_count=int(system.get("ApproximateReceiveCount", 0)),
        message_id=body_message_id(message.get("Body", "")) or None,
        kind=QUARANTINED if quarantined else DEAD_LETTERED,
        source_message_id=attributes["source_message_id"] if quarantined else message["MessageId"],
        attributes=attributes,
        reason=attributes["reason"] if quarantined else "unknown",
        reason_detail=cause_text(attributes.get("reason_detail")) if quarantined else None,
        body=message.get("Body", ""),
        receipt_handle=message["ReceiptHandle"],
    )


class HeldPass:
    """The messages of one pass, held in flight until `restore` (see the module doc)."""

    def __init__(self, sqs: Any, queue_url: str, *, hold_s: int = HOLD_S) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.hold_s = hold_s
        self.messages: list[DeadLetter] = []  # queue order (per group)
        self.unread = 0
        self._held: dict[str, DeadLetter] = {}  # by SQS message id, not yet deleted

    def receive_all(self) -> HeldPass:
        while True:
            # WaitTimeSeconds 1: a long poll asks every SQS server, so an empty answer means empty
            # (a short poll samples a subset and can answer empty while messages wait).
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=self.hold_s,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            fresh = 0
            for message in batch:
                letter = dead_letter(message)
                known = self._held.get(letter.sqs_message_id)
                if known is not None:  # held past HOLD_S and received again: newest handle
                    known.receipt_handle = letter.receipt_handle
                    continue
                fresh += 1
                self._held[letter.sqs_message_id] = letter
                self.messages.append(letter)
            if not fresh:
                break
        visible = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"].get("ApproximateNumberOfMessages", "0")
        self.unread = int(visible)
        _count_copies(self.messages)
        return self

    def delete(self, letter: DeadLetter) -> None:
        """Delete a held message (its receipt handle is the newest); raises on failure."""
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=letter.receipt_handle)
        self._held.pop(letter.sqs_message_id, None)

    def restore(self) -> list[str]:
        """Make every held message visible again at once; the ids that could not be (they come
        back by themselves after HOLD_S)."""
        held, self._held = list(self._held.values()), {}
        failed: list[str] = []
        for start in range(0, len(held), 10):
            chunk = held[start : start + 10]
            response = self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
            failed += [chunk[int(f["Id"])].sqs_message_id for f in response.get("Failed", [])]
        return failed


@contextlib.contextmanager
def held_pass(sqs: Any, queue_url: str, *, hold_s: int = HOLD_S) -> Iterator[HeldPass]:
    """A pass whose messages are made visible again however the block ends."""
    current = HeldPass(sqs, queue_url, hold_s=hold_s)
    try:
        yield current.receive_all()
    finally:
        current.restore()


def read(sqs: Any, queue_url: str) -> tuple[list[DeadLetter], int]:
    """(every message one pass can read, how many it could not), the queue left as it was."""
    with held_pass(sqs, queue_url) as current:
        return current.messages, current.unread


def _count_copies(letters: list[DeadLetter]) -> None:
    counts: dict[str, int] = {}
    for letter in letters:
        counts[letter.source_message_id] = counts.get(letter.source_message_id, 0) + 1
    for letter in letters:
        letter.copies = counts[letter.source_message_id]


# ------------------------------------------------------------------------------ filters


def parse_age(text: str) -> float:
    """'90', '90s', '15m', '2h', '3d' -> seconds."""
    match = _AGE.match(text or "")
    if not match:
        raise ValueError(f"not an age: {text!r} (e.g. 90s, 15m, 2h, 3d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Filters:
    reason: str | None = None  # e.g. InvalidMessage, Runtime.ExitError, unknown (any case)
    group: str | None = None
    older_than_s: float | None = None
    newer_than_s: float | None = None
    ids: tuple[str, ...] = ()  # SQS message id, body message_id or source_message_id

    @property
    def empty(self) -> bool:
        return not (self.reason or self.group or self.ids) and (
            self.older_than_s is None and self.newer_than_s is None
        )

    def matches(self, letter: DeadLetter, now: float | None = None) -> bool:
        if self.reason and letter.reason.lower() != self.reason.lower():
            return False
        if self.group and letter.group != self.group:
            return False
        if self.ids and not {
            letter.sqs_message_id,
            letter.message_id,
            letter.source_message_id,
        } & set(self.ids):
            return False
        age = letter.age_s(now)
        if self.older_than_s is not None and (age is None or age < self.older_than_s):
            return False
        return not (self.newer_than_s is not None and (age is None or age > self.newer_than_s))
