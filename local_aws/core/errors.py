"""AWS errors on the wire: the one place local_aws serialises an error response.

Used for the errors local_aws answers itself (`ApiError`, raised by its own fronts) and for the
errors fault injection injects. The body and headers follow the called service's protocol, so a
boto3 client raises a real `ClientError` with the error code:

- awsJson 1.0/1.1 (DynamoDB, SQS, CloudWatch, Step Functions, Logs): `{"__type", "message"}`,
  plus `x-amzn-query-error: <code>;Sender|Receiver` for the services that were once query
  services (SQS, CloudWatch), which botocore uses as the error code;
- Smithy RPC v2 CBOR (CloudWatch's newest protocol, if a client picks it);
- rest-json (Lambda): `x-amzn-ErrorType` header and `{"Type", "message"}`;
- query (XML `ErrorResponse`) and rest-xml (S3 `Error`).
"""

from __future__ import annotations

import json
import struct
import uuid

from local_aws.core.requests import RequestInfo, service_model

Response = tuple[int, list[tuple[str, str]], bytes]

# Status codes for well-known unmodeled errors (modeled ones take the model's status).
DEFAULT_STATUS = {
    "InternalServerError": 500,
    "InternalFailure": 500,
    "InternalError": 500,
    "InternalServiceError": 500,
    "ServiceException": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "TooManyRequestsException": 429,
}
# SQS errors whose query-compatible code (what botocore reports as the error code) is not in
# botocore's model: the codes SQS sends in `x-amzn-query-error`.
SQS_QUERY_CODES = {
    name: f"AWS.SimpleQueueService.{code}"
    for name, code in {
        "QueueDoesNotExist": "NonExistentQueue",
        "PurgeQueueInProgress": "PurgeQueueInProgress",
        "UnsupportedOperation": "UnsupportedOperation",
        "TooManyEntriesInBatchRequest": "TooManyEntriesInBatchRequest",
        "BatchEntryIdsNotDistinct": "BatchEntryIdsNotDistinct",
        "EmptyBatchRequest": "EmptyBatchRequest",
        "InvalidBatchEntryId": "InvalidBatchEntryId",
        "BatchRequestTooLong": "BatchRequestTooLong",
        "MessageNotInflight": "MessageNotInflight",
        "QueueDeletedRecently": "QueueDeletedRecently",
    }.items()
}


class ApiError(Exception):
    """An AWS error answered by local_aws itself (serialised by `error_response`)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _error_details(service: str, code: str, http_status: int | None) -> tuple[str, str, int, bool]:
    """(shape name, query-compatible code, status, sender fault) from the service model."""
    status = http_status or DEFAULT_STATUS.get(code)
    model = service_model(service)
    shape_name, query_code, sender = code, code, None
    if model is not None:
        for shape in model.error_shapes:
            error = shape.metadata.get("error", {})
            if code in (shape.name, error.get("code")):
                shape_name = shape.name
                query_code = error.get("code", code)
                status = status or error.get("httpStatusCode")
                sender = error.get("senderFault")
                break
    if service == "sqs":
        reverse = {query: name for name, query in SQS_QUERY_CODES.items()}
        shape_name = reverse.get(code, shape_name)
        query_code = SQS_QUERY_CODES.get(shape_name, query_code)
    status = status or 400
    if sender is None:
        sender = status < 500
    return shape_name, query_code, status, sender


def error_response(
    info: RequestInfo,
    code: str,
    message: str,
    http_status: int | None = None,
    request_id: str | None = None,
) -> Response:
    """(status, headers, body) of the AWS error `code`, in the protocol of the request `info`."""
    service = info.service or ""
    request_id = request_id or str(uuid.uuid4())
    shape_name, query_code, status, sender = _error_details(service, code, http_status)
    model = service_model(service)
    query_compatible = model is not None and "awsQueryCompatible" in model.metadata
    headers = [("x-amzn-RequestId", request_id)]
    fault = "Sender" if sender else "Receiver"
    if info.protocol == "json":
        version = model.metadata.get("jsonVersion", "1.0") if model is not None else "1.0"
        headers.append(("Content-Type", f"application/x-amz-json-{version}"))
        if query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};{fault}"))
        prefix = model.metadata.get("targetPrefix") if model is not None else None
        error_type = f"{prefix}#{shape_name}" if prefix and version == "1.0" else shape_name
        body = json.dumps({"__type": error_type, "message": message}).encode()
    elif info.protocol == "cbor":
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        if query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};{fault}"))
        body = _cbor_map({"__type": shape_name, "message": message})
    elif info.protocol == "query":
        headers.append(("Content-Type", "text/xml"))
        body = (
            '<?xml version="1.0"?><ErrorResponse><Error>'
            f"<Type>{fault}</Type><Code>{_xml(query_code)}</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    elif info.protocol == "rest-xml":
        headers.append(("Content-Type", "application/xml"))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><Error>'
            f"<Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    else:  # rest-json
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        body = json.dumps({"Type": "User" if sender else "Service", "message": message}).encode()
    return status, headers, body


def api_error_response(error: ApiError, info: RequestInfo) -> Response:
    return error_response(info, error.code, error.message, error.status)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# CBOR (RFC 8949) for the two-string-field error map only; a library for this would be a new
# dependency of the endpoint for ~15 lines.
def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 1 << 8:
        return bytes([major << 5 | 24, length])
    if length < 1 << 16:
        return bytes([major << 5 | 25]) + struct.pack(">H", length)
    return bytes([major << 5 | 26]) + struct.pack(">I", length)


def _cbor_map(data: dict[str, str]) -> bytes:
    out = bytearray(_cbor_head(5, len(data)))
    for key, value in data.items():
        for text in (key, value):
            encoded = text.encode("utf-8")
            out += _cbor_head(3, len(encoded)) + encoded
    return bytes(out)
