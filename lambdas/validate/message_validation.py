"""Validate: parse an SQS record's body and check it against the JSON Schemas in schemas/.

Schemas: `envelope.schema.json` applies to every message; `<type>.schema.json` applies in addition
to messages of that `type`; a type with no schema file is checked against the envelope only. All
are Draft 2020-12 with format checking on, and `uuid` and `date-time` must really be checked
(jsonschema skips formats whose checker library is missing, so we refuse to start without them).

InvalidMessage lists every violation, as sorted JSON paths with the rule broken, and never the
offending values (they may be personal or financial data and end up in the DLQ and in logs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from pipeline_common import message as message_codec
from pipeline_common import record as sqs_record
from pipeline_common.errors import ConfigurationError, InvalidMessage
from pipeline_common.structured_logging import StructuredLogger

SCHEMA_SUFFIX = ".schema.json"
ENVELOPE = "envelope"
REQUIRED_FORMATS = ("uuid", "date-time")
MAX_ERROR_CHARS = 2000  # InvalidMessage text; it travels in the Step Functions Cause and the DLQ
_MAX_KEY_CHARS = 64
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Schemas:
    envelope: Draft202012Validator
    by_type: Mapping[str, Draft202012Validator]

    def for_message(self, message: Mapping[str, Any]) -> list[Draft202012Validator]:
        validators = [self.envelope]
        message_type = message.get("type")
        if isinstance(message_type, str) and message_type in self.by_type:
            validators.append(self.by_type[message_type])
        return validators


def format_checker() -> Any:
    checker = Draft202012Validator.FORMAT_CHECKER
    missing = [name for name in REQUIRED_FORMATS if name not in checker.checkers]
    if missing:
        raise ConfigurationError(
            f"jsonschema cannot check format(s) {', '.join(missing)}: "
            "install rfc3339-validator (see validate/requirements.txt)"
        )
    return checker


def load_schemas(directory: Path) -> Schemas:
    """Load and check every *.schema.json in directory; ConfigurationError on any problem."""
    checker = format_checker()
    validators: dict[str, Draft202012Validator] = {}
    for path in sorted(Path(directory).glob(f"*{SCHEMA_SUFFIX}")):
        name = path.name[: -len(SCHEMA_SUFFIX)]
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError) as err:
            raise ConfigurationError(f"cannot read schema {path.name}: {err}") from err
        except SchemaError as err:
            raise ConfigurationError(f"invalid schema {path.name}: {err.message}") from err
        validators[name] = Draft202012Validator(schema, format_checker=checker)
    if ENVELOPE not in validators:
        raise ConfigurationError(f"no {ENVELOPE}{SCHEMA_SUFFIX} in {directory}")
    envelope = validators.pop(ENVELOPE)
    return Schemas(envelope=envelope, by_type=validators)


def json_path(parts: Iterable[Any]) -> str:
    """$.payload.amount, $.items[0], $["odd key"]."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(str(part)) and len(str(part)) <= _MAX_KEY_CHARS:
            text += f".{part}"
        else:
            key = str(part)
            clipped = key if len(key) <= _MAX_KEY_CHARS else key[:_MAX_KEY_CHARS] + "…"
            text += f"[{json.dumps(clipped)}]"
    return text


def describe(error: ValidationError) -> list[str]:
    """Text for one jsonschema error: path and rule, without the instance value."""
    path = list(error.absolute_path)
    keyword, expected = error.validator, error.validator_value
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        return [
            f"{json_path([*path, name])}: required property is missing"
            for name in expected
            if name not in instance
        ]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [
            f"{json_path([*path, key])}: unexpected property"
            for key in instance
            if key not in allowed
        ]
    where = json_path(path)
    if keyword == "type":
        kinds = expected if isinstance(expected, str) else " or ".join(expected)
        return [f"{where}: must be of type {kinds}"]
    rules = {
        "format": f"is not a valid {expected}",
        "exclusiveMinimum": f"must be greater than {expected}",
        "minimum": f"must be greater than or equal to {expected}",
        "exclusiveMaximum": f"must be less than {expected}",
        "maximum": f"must be less than or equal to {expected}",
        "minLength": "must not be empty"
        if expected == 1
        else f"must have at least {expected} characters",
        "maxLength": f"must have at most {expected} characters",
        "enum": "is not one of the allowed values",
        "const": "is not the allowed value",
        "pattern": f"must match the pattern {expected}",
    }
    return [f"{where}: {rules.get(keyword, f'violates {keyword}')}"]


def unstorable_numbers(message: Any) -> list[str]:
    """Paths of numbers DynamoDB cannot store exactly (38 significant digits, exponent range).

    Uses the same decimal context as boto3's serializer, so a message that passes here cannot fail
    Save's serialization (which would make a permanent error look like a retryable one).
    """
    problems = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(message, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            try:
                DYNAMODB_CONTEXT.create_decimal(value)
            except DecimalException:
                problems.append(
                    f"{json_path(path)}: number cannot be stored exactly "
                    "(at most 38 significant digits, magnitude 1E-130 to 1E+126)"
                )
    return problems


def violations(message: Mapping[str, Any], schemas: Schemas) -> list[str]:
    """Every violation of the message's schemas, sorted and de-duplicated."""
    found: set[str] = set()
    for validator in schemas.for_message(message):
        for error in validator.iter_errors(message):
            found.update(describe(error))
    found.update(unstorable_numbers(message))
    return sorted(found)


def summarise(problems: list[str], limit: int = MAX_ERROR_CHARS) -> str:
    head = f"{len(problems)} schema violation{'s' if len(problems) != 1 else ''}: "
    text = head
    for index, problem in enumerate(problems):
        piece = problem if index == 0 else f"; {problem}"
        rest = len(problems) - index
        if len(text) + len(piece) > limit - 20:
            return f"{text}; … and {rest} more"
        text += piece
    return text


def validate_record(
    record: Mapping[str, Any], *, schemas: Schemas, log: StructuredLogger
) -> dict[str, Any]:
    """Validate's result (docs/contract.md) or InvalidMessage."""
    log.start(record)
    body = sqs_record.body(record)
    try:
        if body is None:
            raise InvalidMessage("the record has no body")
        message, body_sha256 = message_codec.fingerprint(body)
        log.set_message_id(message.get("message_id"))
        size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
        log.info("message_received", {"body_bytes": size}, payload=message)
        # Validate the exact (Decimal) reading: it is what Save stores.
        problems = violations(message_codec.decode_body(body, exact_numbers=True), schemas)
        if problems:
            raise InvalidMessage(summarise(problems))
    except InvalidMessage as err:
        log.error("message_invalid", {"error": str(err)})
        raise
    log.success("message_validated", {"type": message["type"], "body_sha256": body_sha256})
    return {
        "message_id": message["message_id"],
        "type": message["type"],
        "body_sha256": body_sha256,
        "message": message,
        "sqs": sqs_record.sqs_metadata(record),
    }
