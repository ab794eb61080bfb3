"""AWS's error type for InvalidParameterValue in SQS's JSON protocol.

SQS's JSON protocol (sqs-json-api-responses) reports an error twice: `x-amzn-query-error`
carries the query-protocol code (what botocore shows as Error.Code) and the body's `__type` the
JSON error type (botocore's Error.QueryErrorCode). InvalidParameterValue is not a modeled SQS
error, and AWS's JSON type for it is `InvalidParameterValueException`; moto derives the type from
the code and answers `InvalidParameterValue`. Every other SQS error moto raises already has
AWS's type and code.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core import serialize
from moto.core.errors import ErrorShape

JSON_TYPES = {"InvalidParameterValue": "InvalidParameterValueException"}


def _sqs_json_types(original: Any) -> Any:
    @functools.wraps(original)
    def get_error_model(exception: Exception, default_service_model: Any) -> Any:
        shape = original(exception, default_service_model)
        json_type = JSON_TYPES.get(shape.name)
        if json_type is None or default_service_model.metadata.get("serviceId") != "SQS":
            return shape
        return ErrorShape(
            shape_name=json_type,
            shape_model={
                "exception": True,
                "type": "structure",
                "members": {},
                "error": {"code": shape.error_code, "senderFault": True},
            },
        )

    return get_error_model


def install() -> None:
    serialize.get_error_model = _sqs_json_types(serialize.get_error_model)
