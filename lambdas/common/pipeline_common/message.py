"""Decoding and fingerprinting of a message body.

A body is accepted only if it is UTF-8 text holding one JSON object, with no NaN/Infinity (Python's
json module accepts them by default; JSON does not), no number too large for a float, no lone
surrogate (an escape like "\\ud800" decodes to a str that cannot be encoded, stored or sent), and
no duplicate key (parsers disagree on which one wins). Anything else raises InvalidMessage, with a
text that never quotes the body's values.

`body_sha256` is defined in docs/contract.md: SHA-256 hex of the canonical JSON of the parsed body
(sort_keys, compact separators, ensure_ascii=False), so a re-serialisation of the same message
(whitespace, key order, escapes) hashes the same while any change of a value does not.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from typing import Any

from .errors import InvalidMessage


class _Rejected(ValueError):
    """Raised from inside json.loads hooks; becomes InvalidMessage."""


def _reject_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not valid JSON (NaN and Infinity are rejected)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected("a number is out of the range of a double")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Rejected("an object has a duplicate key")
    return result


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def decode_body(body: Any, *, exact_numbers: bool = False) -> dict[str, Any]:
    """Parse a record body into a dict or raise InvalidMessage.

    exact_numbers=True parses non-integer numbers as Decimal (what Save stores: DynamoDB rejects
    floats, and money must not pass through binary floating point); otherwise as finite floats.
    """
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidMessage(f"body is not valid UTF-8 (byte offset {err.start})") from None
    if not isinstance(body, str):
        raise InvalidMessage(f"body must be a JSON string, got {type(body).__name__}")
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidMessage("body is not valid Unicode (lone surrogate)") from None
    try:
        parsed = json.loads(
            body,
            parse_float=Decimal if exact_numbers else _finite_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except _Rejected as err:
        raise InvalidMessage(f"body is not acceptable JSON: {err}") from None
    except json.JSONDecodeError as err:
        # err.msg and the position only; str(err) is the same, never the document itself.
        raise InvalidMessage(
            f"body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except (ValueError, RecursionError) as err:
        # e.g. an integer literal longer than Python's int conversion limit, or deep nesting.
        raise InvalidMessage(f"body is not acceptable JSON: {type(err).__name__}") from None
    if not isinstance(parsed, dict):
        kind = "null" if parsed is None else type(parsed).__name__
        kind = {"list": "array", "str": "string", "bool": "boolean"}.get(kind, kind)
        raise InvalidMessage(f"body must be a JSON object, got a JSON {kind}")
    if "\\u" in body and _has_lone_surrogate(parsed):
        raise InvalidMessage("body is not valid Unicode (escaped lone surrogate)")
    return parsed


def canonical_json(message: Any) -> str:
    """The canonical text of a parsed (float-decoded) body, as docs/contract.md defines it."""
    return json.dumps(
        message, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def body_sha256(message: Any) -> str:
    return hashlib.sha256(canonical_json(message).encode("utf-8")).hexdigest()


def fingerprint(body: Any) -> tuple[dict[str, Any], str]:
    """(parsed body, body_sha256) of a record body; InvalidMessage if it is not acceptable."""
    message = decode_body(body)
    return message, body_sha256(message)


def message_id_of(body: Any) -> str | None:
    """Best effort, never raises: the body's message_id for logs on paths that accept any body."""
    try:
        value = decode_body(body).get("message_id")
    except InvalidMessage:
        return None
    return value if isinstance(value, str) and value else None


def mismatch_text(message_id: str, stored_sha256: str, received_sha256: str) -> str:
    """PayloadMismatch's text (hash prefixes identify the two bodies; no values)."""
    return (
        f"message_id {message_id} is already stored with a different body "
        f"(stored body_sha256 {stored_sha256[:16]}…, received {received_sha256[:16]}…)"
    )


def require_message_id(message: dict[str, Any]) -> str:
    """The message_id of a parsed body (present once Validate passed)."""
    value = message.get("message_id")
    if not isinstance(value, str) or not value:
        raise InvalidMessage("$.message_id: required property is missing")
    return value
