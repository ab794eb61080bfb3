#!/usr/bin/env python3
"""Write events/bodies/* (message bodies) and events/pipe/* (pipe events) from the definitions.

    python events/generate_events.py          # (re)write the files
    python events/generate_events.py --check  # exit 1 if a committed file differs

Bodies are the exact text a producer sends (what to pass to `aws sqs send-message
--message-body file://...`). Pipe events are what the pipe hands the state machine: a JSON array of
SQS records in the exact shape of docs/contract.md (every attribute a string), one record per body,
plus a few multi-record batches. Everything is deterministic (fixed ids and timestamps).
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODIES = HERE / "bodies"
PIPE = HERE / "pipe"

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE_NAME = "sqs-fifo-pipeline-messages.fifo"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE_NAME}"
GROUP = "payer-7f3a"
SENT_MS = 1767261600000  # 2026-01-01T10:00:00Z
_IDS = uuid.UUID("6f0b3c8e-3c1f-4b57-9a0e-51d0b1a7e2c4")

VALID = {
    "message_id": "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40",
    "timestamp": "2026-01-01T09:59:58.123Z",
    "source": "payments-api",
    "type": "transaction_created",
    "dlq_retry": 0,
    "payload": {
        "transaction_id": "txn-20260101-000042",
        "payer_id": "cust-7f3a",
        "receiver_id": "merchant-0193",
        "amount": 125.5,
        "currency": "EUR",
        "description": "Invoice 2025-118",
    },
}


def _message(message_id: str, **changes: object) -> dict:
    """VALID with another message_id and changes (payload keys as payload__name, None = drop)."""
    body = copy.deepcopy(VALID)
    body["message_id"] = message_id
    for key, value in changes.items():
        target, name = (body["payload"], key[9:]) if key.startswith("payload__") else (body, key)
        if value is _DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return body


_DROP = object()


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _large_description() -> str:
    sentence = "Line item: consulting services, January, ref 0042. "
    return (sentence * 4000)[:200_000]


def bodies() -> dict[str, str]:
    """File name -> exact text."""
    valid_text = _pretty(VALID)
    reordered = {"payload": dict(reversed(list(VALID["payload"].items())))}
    reordered.update({k: VALID[k] for k in reversed(list(VALID)) if k != "payload"})
    return {
        # accepted
        "valid_transaction.json": valid_text,
        # the same message again, re-serialised (key order, whitespace): same body_sha256
        "valid_transaction_reordered.json": json.dumps(reordered, separators=(",", ":")) + "\n",
        "same_id_different_body.json": _pretty(
            _message(VALID["message_id"], payload__amount=999.99)
        ),
        "valid_float_amount.json": _pretty(
            _message("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", payload__amount=1234.56789)
        ),
        "valid_small_float_amount.json": _pretty(
            _message("2d3e4f5a-6b7c-4d8e-9fa0-1b2c3d4e5f60", payload__amount=0.1)
        ),
        "valid_null_description.json": _pretty(
            _message("3e4f5a6b-7c8d-4e9f-a0b1-2c3d4e5f6071", payload__description=None, dlq_retry=2)
        ),
        "valid_without_optional_fields.json": _pretty(
            _message(
                "4f5a6b7c-8d9e-4fa0-b1c2-3d4e5f607182",
                payload__description=_DROP,
                dlq_retry=_DROP,
            )
        ),
        "valid_non_ascii.json": _pretty(
            _message(
                "5a6b7c8d-9e0f-4a1b-c2d3-4e5f60718293",
                source="caisse-café",
                payload__payer_id="usuário-joão",
                payload__currency="JPY",
                payload__description='Café für Zoë – 東京駅 ✓ 💶 "quoted" \\ back',  # noqa: RUF001
            )
        ),
        "valid_unknown_type.json": _pretty(
            {
                "message_id": "6b7c8d9e-0f1a-4b2c-93d4-5e6f708192a3",
                "timestamp": "2026-01-01T10:00:00+01:00",
                "source": "crm",
                "type": "customer_updated",
                "payload": {"customer_id": "cust-7f3a", "fields": ["email"], "version": 3},
            }
        ),
        "valid_large_body.json": _pretty(
            _message(
                "7c8d9e0f-1a2b-4c3d-a4e5-6f708192a3b4", payload__description=_large_description()
            )
        ),
        # rejected before schema validation
        "malformed_json.txt": '{"message_id": "8d9e0f1a-2b3c-4d4e-b5f6-708192a3b4c5", '
        '"type": "transaction_created", "payload": {"amount": 10.5,\n',
        "not_an_object.json": _pretty([VALID]),
        "invalid_nan_amount.txt": valid_text.replace('"amount": 125.5', '"amount": NaN'),
        "invalid_infinity_amount.txt": valid_text.replace('"amount": 125.5', '"amount": Infinity'),
        "invalid_number_overflow.json": valid_text.replace('"amount": 125.5', '"amount": 1e400'),
        "invalid_duplicate_key.json": valid_text.replace(
            '"amount": 125.5,', '"amount": 125.5,\n    "amount": 1.0,'
        ),
        "invalid_lone_surrogate.json": valid_text.replace("Invoice 2025-118", "Invoice \\ud800"),
        # rejected by the JSON Schemas (one class of violation per file, then all at once)
        "invalid_missing_field.json": _pretty(_message(_id(1), payload__amount=_DROP)),
        "invalid_wrong_type.json": _pretty(_message(_id(2), payload__amount="125.50")),
        "invalid_bad_uuid.json": _pretty(_message("not-a-uuid-0042")),
        "invalid_bad_timestamp.json": _pretty(_message(_id(3), timestamp="2026-13-01 25:00")),
        "invalid_amount_zero.json": _pretty(_message(_id(4), payload__amount=0)),
        "invalid_amount_negative.json": _pretty(_message(_id(5), payload__amount=-10.25)),
        "invalid_empty_string.json": _pretty(_message(_id(6), source="")),
        "invalid_unexpected_field.json": _pretty(_message(_id(7), payload__iban="DE00 0000")),
        "invalid_dlq_retry_negative.json": _pretty(_message(_id(8), dlq_retry=-1)),
        "invalid_description_type.json": _pretty(_message(_id(9), payload__description=42)),
        "invalid_payload_not_object.json": _pretty(_message(_id(10), payload="125.50 EUR")),
        "invalid_amount_too_precise.json": valid_text.replace(
            '"amount": 125.5', '"amount": 125.50000000000000000000000000000000000001'
        ).replace(VALID["message_id"], _id(11)),
        "invalid_multiple_violations.json": _pretty(
            {
                "message_id": "42",
                "timestamp": "yesterday",
                "source": "",
                "type": "transaction_created",
                "extra": True,
                "payload": {"payer_id": 7, "amount": -1, "currency": "EUR", "note": "x"},
            }
        ),
    }


def _id(n: int) -> str:
    return str(uuid.uuid5(_IDS, f"invalid-{n}"))


def sqs_record(body: str, key: str, *, sequence: int, receive_count: int = 1) -> dict:
    """One SQS record as the pipe delivers it (docs/contract.md)."""
    digest = hashlib.sha256(f"{key}/{sequence}".encode()).hexdigest()
    sent = SENT_MS + sequence * 1000
    return {
        "messageId": str(uuid.uuid5(_IDS, f"sqs/{key}/{sequence}")),
        "receiptHandle": f"AQEB{digest}{digest[:32]}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent),
            "SequenceNumber": str(18_899_000_000_000_000_000 + sequence),
            "MessageGroupId": GROUP,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "MessageDeduplicationId": hashlib.sha256(body.encode("utf-8")).hexdigest(),
            "ApproximateFirstReceiveTimestamp": str(sent + 250),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def _body_text(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def pipe_events(body_texts: dict[str, str]) -> dict[str, str]:
    events: dict[str, list[dict]] = {}
    for sequence, (name, text) in enumerate(sorted(body_texts.items()), start=1):
        stem = name.rsplit(".", 1)[0]
        events[f"{stem}.json"] = [sqs_record(_body_text(text), stem, sequence=sequence)]

    def batch(key: str, *names: str) -> list[dict]:
        return [
            sqs_record(_body_text(body_texts[n]), key, sequence=100 + i)
            for i, n in enumerate(names)
        ]

    events["batch_duplicate_pair.json"] = batch(
        "dup", "valid_transaction.json", "valid_transaction_reordered.json"
    )
    events["batch_same_id_different_body.json"] = batch(
        "conflict", "valid_transaction.json", "same_id_different_body.json"
    )
    events["batch_mixed.json"] = batch(
        "mixed",
        "valid_transaction.json",
        "invalid_missing_field.json",
        "valid_float_amount.json",
        "valid_transaction_reordered.json",
        "malformed_json.txt",
        "valid_non_ascii.json",
    )
    redelivered = sqs_record(
        _body_text(body_texts["valid_transaction.json"]), "redelivered", sequence=200
    )
    redelivered["attributes"]["ApproximateReceiveCount"] = "3"
    events["redelivered_valid_transaction.json"] = [redelivered]
    return {
        name: json.dumps(records, indent=2, ensure_ascii=False) + "\n"
        for name, records in events.items()
    }


def render() -> dict[Path, str]:
    body_texts = bodies()
    files = {BODIES / name: text for name, text in body_texts.items()}
    files.update({PIPE / name: text for name, text in pipe_events(body_texts).items()})
    return files


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
        extra = {p for d in (BODIES, PIPE) for p in d.glob("*") if d.exists()} - set(files)
        for path in sorted(stale):
            print(f"out of date: {path.relative_to(HERE.parent)}")
        for path in sorted(extra):
            print(f"not generated: {path.relative_to(HERE.parent)}")
        return 1 if stale or extra else 0
    for directory in (BODIES, PIPE):
        directory.mkdir(exist_ok=True)
        for stale in directory.glob("*"):
            if stale not in files:
                stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {HERE.relative_to(HERE.parent)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
