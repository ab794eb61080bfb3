"""Every invalid sample body of events/bodies with secrets in it, for the no-payload-in-logs
checks (tests/unit/validate, tests/security).

Each sample's payload values (payer, receiver, transaction, description, iban...) are replaced by
unique secret strings, and so is each value Validate rejects for its type or format or as an
unexpected property: a string where the schema wants another type, a one-element list holding
the secret where it wants a string. Only `$.message_id` keeps its value: it is the correlation
id every log line carries by design. A secret found in an error text, a log line or a DLQ
attribute is a leak.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import message_validation
from lambda_testkit import EVENTS, LAMBDAS

BODIES = EVENTS / "bodies"
SAMPLE_VALUES = (
    "txn-20260101-000042",
    "cust-7f3a",
    "merchant-0193",
    "Invoice 2025-118",
    "125.50 EUR",
    "DE00 0000",
)
CORRELATION_ID = ("message_id",)
_SCHEMAS = message_validation.load_schemas(LAMBDAS / "validate" / "schemas")


@dataclass(frozen=True)
class SecretSample:
    name: str
    body: str
    secrets: tuple[str, ...]  # every secret in the body
    rejected: tuple[str, ...]  # the paths of the rejected values that now hold a secret


def invalid_sample_names() -> list[str]:
    return sorted(
        path.stem
        for path in BODIES.iterdir()
        if path.stem.startswith(("invalid_", "malformed_", "not_an_object"))
    )


def _secret(where: str) -> str:
    return f"secret-{where}-{uuid.uuid4().hex[:12]}"


def _rejected_values(message: Any) -> dict[tuple[Any, ...], Any]:
    """{path: secret value} for each value the schemas reject by type, format or as extra."""
    found: dict[tuple[Any, ...], Any] = {}
    for validator in _SCHEMAS.for_message(message):
        for error in validator.iter_errors(message):
            path = tuple(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                allowed = set(error.schema.get("properties", {}))
                for key in error.instance:
                    if key not in allowed:
                        found[(*path, key)] = _secret(key)
            elif error.validator in ("type", "format") and path and path != CORRELATION_ID:
                expected = error.validator_value if error.validator == "type" else ()
                types = [expected] if isinstance(expected, str) else expected
                secret = _secret(str(path[-1]))
                found[path] = [secret] if "string" in types else secret  # still the wrong type
    return found


def secret_sample(name: str) -> SecretSample:
    [path] = BODIES.glob(f"{name}.*")
    text = path.read_text(encoding="utf-8")
    secrets: list[str] = []
    for value in SAMPLE_VALUES:
        if value in text:
            secret = _secret("value")
            text = text.replace(value, secret)
            secrets.append(secret)
    rejected: list[str] = []
    try:
        message = json.loads(text)
    except ValueError:
        message = None  # not JSON: only its values are replaced
    if isinstance(message, dict):
        replacements = _rejected_values(message)
        for where, value in replacements.items():
            target = message
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = value
            secrets.append(value[0] if isinstance(value, list) else value)
            rejected.append(message_validation.json_path(where))
        if replacements:
            text = json.dumps(message)
    return SecretSample(name, text, tuple(v for v in secrets if v in text), tuple(rejected))
