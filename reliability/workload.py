"""The chaos workload: messages spread over message groups, with a known mix of kinds.

Each group gets its own ordered list of sends. Kinds (exact counts from the fractions):
- `valid`      a new transaction_created message (fresh message_id);
- `duplicate`  a resend of an earlier valid message of the same group, same body. Half of them
               reuse the original's MessageDeduplicationId (a producer retrying: SQS FIFO may
               drop it), half get a new one (a producer sending twice: SQS delivers both);
- `invalid`    a body Validate must reject (malformed JSON, wrong types, NaN, missing fields...);
- `mismatch`   an earlier valid message's message_id with a different body (another amount).

Only the kinds and the bodies are decided here; what actually happens to each message is read
back from AWS by reliability.invariants.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

from pipeline_tools.observer import body_message_id

KINDS = ("valid", "duplicate", "invalid", "mismatch")


@dataclass
class PlannedMessage:
    index: int  # position in the global send order
    group: str
    kind: str
    body: str
    dedup_id: str
    message_id: str | None  # the body's message_id, when it has a string one
    duplicate_of: int | None = None  # index of the original (duplicate, mismatch)


def valid_body(rng: random.Random, message_id: str) -> dict:
    amount = round(rng.uniform(0.01, 5000), 2)
    return {
        "message_id": message_id,
        "timestamp": "2026-01-01T09:59:58.123Z",
        "source": "chaos-producer",
        "type": "transaction_created",
        "dlq_retry": 0,
        "payload": {
            "transaction_id": f"txn-{rng.getrandbits(48):012x}",
            "payer_id": f"cust-{rng.getrandbits(24):06x}",
            "receiver_id": f"merchant-{rng.getrandbits(24):06x}",
            "amount": amount,
            "currency": rng.choice(["EUR", "USD", "GBP"]),
            "description": rng.choice([None, "Invoice", f"ref {rng.getrandbits(20)}"]),
        },
    }


def invalid_body(rng: random.Random, message_id: str) -> str:
    base = valid_body(rng, message_id)
    variant = rng.randrange(8)
    if variant == 0:
        return json.dumps(base)[:-7]  # truncated: malformed JSON
    if variant == 1:
        del base["payload"]["amount"]
    elif variant == 2:
        base["payload"]["amount"] = -abs(base["payload"]["amount"])
    elif variant == 3:
        return json.dumps(base).replace(str(base["payload"]["amount"]), "NaN", 1)
    elif variant == 4:
        return json.dumps([base])  # not an object
    elif variant == 5:
        base["payload"]["payer_id"] = 42
    elif variant == 6:
        base["message_id"] = "not-a-uuid"
    else:
        base["timestamp"] = "yesterday"
    return json.dumps(base)


def plan(
    messages: int,
    groups: int,
    *,
    seed: int = 1,
    duplicate: float = 0.10,
    invalid: float = 0.05,
    mismatch: float = 0.01,
    prefix: str = "chaos",
) -> list[PlannedMessage]:
    """`messages` sends over `groups` groups, in a global send order that interleaves groups."""
    if groups < 1 or messages < 2 * groups:
        raise ValueError("need at least 2 messages per group")
    rng = random.Random(seed)
    counts = {
        "duplicate": round(messages * duplicate),
        "invalid": round(messages * invalid),
        "mismatch": round(messages * mismatch),
    }
    counts["valid"] = messages - sum(counts.values())
    # Every group starts with a valid message, so duplicates/mismatches have an original.
    rest = [k for k, n in counts.items() for _ in range(n - (groups if k == "valid" else 0))]
    rng.shuffle(rest)
    names = [
        f"{prefix}-g{g:02d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:6]}" for g in range(groups)
    ]
    per_group: list[list[str]] = [["valid"] for _ in range(groups)]
    for i, kind in enumerate(rest):
        per_group[i % groups].append(kind)
    # Interleave the groups into one global send order.
    order: list[tuple[int, str]] = []
    cursors = [0] * groups
    while any(c < len(per_group[g]) for g, c in enumerate(cursors)):
        g = rng.randrange(groups)
        if cursors[g] < len(per_group[g]):
            order.append((g, per_group[g][cursors[g]]))
            cursors[g] += 1
    planned: list[PlannedMessage] = []
    originals: dict[int, list[PlannedMessage]] = {g: [] for g in range(groups)}
    dup_toggle = 0
    for index, (g, kind) in enumerate(order):
        group = names[g]
        dedup_id = uuid.UUID(int=rng.getrandbits(128)).hex
        if kind == "valid":
            message_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            body = json.dumps(valid_body(rng, message_id))
            message = PlannedMessage(index, group, kind, body, dedup_id, message_id)
            originals[g].append(message)
        elif kind == "invalid":
            message_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            body = invalid_body(rng, message_id)
            message = PlannedMessage(index, group, kind, body, dedup_id, body_message_id(body))
        else:
            original = rng.choice(originals[g])
            if kind == "duplicate":
                body = original.body
                dup_toggle += 1
                if dup_toggle % 2:
                    dedup_id = original.dedup_id  # an exact resend (producer retry)
            else:
                data = json.loads(original.body)
                data["payload"]["amount"] = round(data["payload"]["amount"] + 1.5, 2)
                body = json.dumps(data)
            message = PlannedMessage(
                index, group, kind, body, dedup_id, original.message_id, original.index
            )
        planned.append(message)
    return planned
