"""Redrive: send selected DLQ messages back to the source queue, then delete them from the DLQ.

Each selected message is sent
- in its own message group (`redrive-<source_message_id>`): it cannot block, or be blocked by,
  the live traffic of its old group, and its old group's order is already history;
- with `dlq_retry` incremented in the body (the only change: every other byte of every number is
  kept; the idempotency fingerprint leaves `dlq_retry` out, so a copy of a stored message ends as
  a duplicate);
- with a fresh MessageDeduplicationId (the original one may still be inside SQS's 5-minute
  deduplication window, which would drop the send silently);
- once per source_message_id, however many DLQ copies share it.

Only after that send succeeded are the message and its copies deleted from the DLQ. A crash in
between leaves the message in both queues: the workflow stores it once and the next redrive of
the DLQ copy becomes a duplicate; nothing is lost. Nothing moves without --apply.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .messages import DeadLetter, Filters, held_pass
from .queues import DlqTarget

GROUP_PREFIX = "redrive-"


@dataclass
class PlannedMove:
    source_message_id: str
    sent: DeadLetter  # the copy that is sent (the oldest)
    copies: list[DeadLetter]  # every DLQ message of this source (sent included)
    group: str
    body: str
    dlq_retry: int | None  # the new value; None when the body could not be changed
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_message_id": self.source_message_id,
            "message_id": self.sent.message_id,
            "reason": self.sent.reason,
            "from_group": self.sent.group,
            "to_group": self.group,
            "dlq_retry": self.dlq_retry,
            "dlq_messages": [c.sqs_message_id for c in self.copies],
            "stored": self.sent.stored,
            "note": self.note,
        }


@dataclass
class MoveResult:
    move: PlannedMove
    sent_message_id: str | None = None
    deleted: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.move.to_dict(),
            "sent_message_id": self.sent_message_id,
            "deleted": self.deleted,
            "error": self.error,
        }


def redriven_body(body: str) -> tuple[str, int | None, str]:
    """(body with dlq_retry + 1, the new dlq_retry, note). Numbers keep their exact text (a
    float round trip would change amounts); a body that is not a plain JSON object, or whose
    dlq_retry is not a count, is sent unchanged (and the note says why)."""
    nonce = secrets.token_hex(8)
    numbers: dict[str, str] = {}

    def keep_number(text: str) -> str:
        token = f"{nonce}:{len(numbers)}"
        numbers[json.dumps(token)] = text
        return token

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    try:
        parsed = json.loads(body, parse_float=keep_number, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError):
        return body, None, "body is not acceptable JSON: sent unchanged (dlq_retry not set)"
    if not isinstance(parsed, dict):
        return body, None, "body is not a JSON object: sent unchanged (dlq_retry not set)"
    retry = parsed.get("dlq_retry", 0)
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        return body, None, "dlq_retry is not a count: sent unchanged"
    parsed["dlq_retry"] = retry + 1
    text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    for token, number in numbers.items():
        text = text.replace(token, number)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an escaped lone surrogate: keep the original escapes
        return body, None, "body holds a lone surrogate: sent unchanged (dlq_retry not set)"
    return text, retry + 1, ""


def redrive_group(source_message_id: str) -> str:
    return f"{GROUP_PREFIX}{source_message_id}"[:128]


def plan(
    letters: list[DeadLetter], filters: Filters, now: float | None = None
) -> list[PlannedMove]:
    """One move per source_message_id among the selected messages, oldest first."""
    now = now or time.time()
    by_source: dict[str, list[DeadLetter]] = {}
    for letter in letters:
        by_source.setdefault(letter.source_message_id, []).append(letter)
    moves = []
    for source, copies in by_source.items():
        if not any(filters.matches(letter, now) for letter in copies):
            continue
        sent = min(copies, key=lambda c: c.sent_at or 0)
        body, retry, note = redriven_body(sent.body)
        if sent.stored:
            stored = (
                "another body is stored under this message_id: it will be quarantined again"
                if sent.reason == "PayloadMismatch"
                else "already stored: will end as a duplicate"
            )
            note = (note + "; " if note else "") + stored
        moves.append(PlannedMove(source, sent, copies, redrive_group(source), body, retry, note))
    return moves


def send(sqs: Any, target: DlqTarget, move: PlannedMove) -> str:
    """SendMessage of one planned move; returns the new SQS message id."""
    attributes = {
        "dlq_source_message_id": {"DataType": "String", "StringValue": move.source_message_id},
    }
    if move.sent.group:
        attributes["original_message_group_id"] = {
            "DataType": "String",
            "StringValue": move.sent.group,
        }
    kwargs: dict[str, Any] = {}
    if target.source_url.endswith(".fifo"):
        kwargs = {"MessageGroupId": move.group, "MessageDeduplicationId": uuid.uuid4().hex}
    return sqs.send_message(
        QueueUrl=target.source_url, MessageBody=move.body, MessageAttributes=attributes, **kwargs
    )["MessageId"]


def apply(
    sqs: Any,
    target: DlqTarget,
    filters: Filters,
    *,
    explain: Callable[[list[DeadLetter]], None],
    on_result: Callable[[MoveResult], None] = lambda result: None,
) -> list[MoveResult]:
    """Redrive the selected messages, pass after pass (deleting makes room in FIFO groups),
    until a pass finds nothing selected that this run has not handled yet."""
    handled: set[str] = set()
    results: list[MoveResult] = []
    while True:
        progressed = False
        with held_pass(sqs, target.dlq_url) as current:
            explain(current.messages)
            fresh = [m for m in current.messages if m.source_message_id not in handled]
            for move in plan(fresh, filters):
                handled.add(move.source_message_id)
                result = MoveResult(move)
                try:
                    result.sent_message_id = send(sqs, target, move)
                except Exception as exc:  # nothing was deleted: the message stays in the DLQ
                    result.error = f"send failed, left in the DLQ: {error_text(exc)}"
                else:
                    for copy in move.copies:
                        try:
                            current.delete(copy)
                            result.deleted.append(copy.sqs_message_id)
                            progressed = True
                        except Exception as exc:
                            result.error = (
                                f"sent, but DeleteMessage failed ({error_text(exc)}): a copy stays "
                                "in the DLQ; redriving it again makes it a duplicate"
                            )
                results.append(result)
                on_result(result)
        if not progressed:
            return results


def start_move_task(sqs: Any, target: DlqTarget) -> str:
    """SQS's own redrive of the whole DLQ (StartMessageMoveTask) into the source queue: same
    groups, bodies unchanged (dlq_retry not incremented). Returns the task handle."""
    return sqs.start_message_move_task(SourceArn=target.dlq_arn, DestinationArn=target.source_arn)[
        "TaskHandle"
    ]


def error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"
