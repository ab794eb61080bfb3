"""TestState `mock.fieldValidationMode`: a mocked result checked against the service's API model.

AWS (API_MockInput): STRICT - all required fields present and every present field conforms to the
API's schema (the default); PRESENT - present fields conform; NONE - no validation. The schema is
the operation's output shape in botocore's service model, with member names as Step Functions
writes them (`Payload`, `MessageId`: the first letter upper-cased). botocore owns the models, so
nothing is restated here; the walk over a shape is ours because botocore validates requests
(its ParamValidator) but never responses.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from local_aws.core.errors import ApiError

STRICT, PRESENT, NONE = "STRICT", "PRESENT", "NONE"
MODES = (STRICT, PRESENT, NONE)

_KINDS = {
    "string": ("a string", lambda v: isinstance(v, str)),
    "timestamp": (
        "a string",
        lambda v: isinstance(v, str | int | float) and not isinstance(v, bool),
    ),
    "integer": ("a number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "long": ("a number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "double": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
}


def _error(message: str) -> ApiError:
    return ApiError("ValidationException", f"Mock result schema validation error: {message}")


def sfn_cased(name: str) -> str:
    """A botocore member name as Step Functions writes it in task results."""
    return name[:1].upper() + name[1:]


def validate(result: Any, shape: Shape | None, mode: str) -> None:
    """Raise a ValidationException when `result` does not fit `shape` under `mode`."""
    if mode == NONE or shape is None:
        return
    _check(result, shape, mode, None)


def _check(value: Any, shape: Shape, mode: str, field: str | None) -> None:
    name = field or "result"
    if shape.type_name in ("document", "blob"):
        # A blob (Lambda's Payload) is the JSON value Step Functions decoded: any JSON.
        return
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise _error(f"Field '{name}' must be an object")
        members = {sfn_cased(key): member for key, member in shape.members.items()}
        if mode == STRICT:
            for required in shape.required_members:
                if sfn_cased(required) not in value:
                    raise _error(f"Required field '{sfn_cased(required)}' is missing")
        for key, item in value.items():
            member = members.get(key)
            if member is not None:  # fields the model does not know are left alone
                _check(item, member, mode, key)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise _error(f"Field '{name}' must be an array")
        for item in value:
            _check(item, shape.member, mode, field)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise _error(f"Field '{name}' must be an object")
        for item in value.values():
            _check(item, shape.value, mode, field)
        return
    kind = _KINDS.get(shape.type_name)
    if kind is not None and not kind[1](value):
        raise _error(f"Field '{name}' must be {kind[0]}")
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        raise _error(f"Field '{name}' is not an expected value")
