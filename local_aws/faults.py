"""Fault injection: make named AWS operations fail with real AWS errors.

A rule names a service and an operation (`dynamodb PutItem`, `sqs DeleteMessage`,
`cloudwatch PutMetricData`, `lambda Invoke`, ...) and says how often to fail it: the next `count`
calls, a `probability` per call, or (neither) every call. A matching request is answered with the
service's own error wire format, so a boto3 client (a Lambda's, or the Step Functions interpreter's)
raises a real `ClientError` with that error code:

- awsJson 1.0/1.1 (DynamoDB, SQS, CloudWatch, Step Functions, Logs): `{"__type", "message"}`,
  plus `x-amzn-query-error: <code>;Sender|Receiver` for the services that were once query
  services (SQS, CloudWatch), which botocore uses as the error code;
- Smithy RPC v2 CBOR (CloudWatch's newest protocol, if a client picks it);
- rest-json (Lambda): `x-amzn-ErrorType` header and `{"Type", "message"}`;
- query (XML `ErrorResponse`) and rest-xml (S3 `Error`).

Lambda also has two faults of its own, applied to `lambda Invoke` of one function (or all):
`kind="crash"` (the worker process exits mid-invocation → `Runtime.ExitError`) and
`kind="timeout"` (the invocation ends as `Sandbox.Timedout` at once, without waiting).
"""

from __future__ import annotations

import functools
import json
import random
import re
import struct
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

# Signing names (credential scope) and other spellings → boto3 service names.
SERVICE_ALIASES = {
    "monitoring": "cloudwatch",
    "states": "stepfunctions",
    "sfn": "stepfunctions",
    "cloudwatchlogs": "logs",
    "eventbridge": "events",
}
# X-Amz-Target prefixes → boto3 service names (for unsigned requests).
TARGET_PREFIXES = {
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
    "GraniteServiceVersion20100801": "cloudwatch",
    "AWSStepFunctions": "stepfunctions",
    "Logs_20140328": "logs",
    "AWSEvents": "events",
}
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
LAMBDA_FAULT_KINDS = ("crash", "timeout")


def normalise_service(name: str) -> str:
    name = name.strip().lower()
    return SERVICE_ALIASES.get(name, name)


@dataclass
class FaultRule:
    service: str
    operation: str = "*"
    error_code: str = ""
    message: str = ""
    count: int | None = None
    probability: float | None = None
    http_status: int | None = None
    kind: str = "error"  # "error" | "crash" | "timeout" (the last two: lambda Invoke only)
    function: str | None = None  # lambda only: restrict to this function name
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    injected: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        self.service = normalise_service(self.service)
        if self.kind not in ("error", *LAMBDA_FAULT_KINDS):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.kind in LAMBDA_FAULT_KINDS:
            if self.service != "lambda":
                raise ValueError(f"kind={self.kind!r} only applies to service 'lambda'")
            if self.operation in ("*", ""):
                self.operation = "Invoke"
        elif not self.error_code:
            raise ValueError("an error fault needs error_code")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be within [0, 1]")
        if self.function:
            self.function = self.function.split(":function:")[-1].split(":")[0]

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count

    def matches(self, service: str, operation: str, function: str | None) -> bool:
        if self.exhausted or service != self.service:
            return False
        if self.operation not in ("*", "") and self.operation.lower() != operation.lower():
            return False
        return not (self.function and function and self.function != function)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["remaining"] = None if self.count is None else max(self.count - self.injected, 0)
        return data


class FaultInjector:
    """The rule set of one LocalAWS; thread-safe. `active` is a cheap hot-path check."""

    def __init__(self, seed: int | None = None):
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.active = False

    def add(
        self,
        service: str,
        operation: str = "*",
        error_code: str = "",
        message: str = "",
        *,
        count: int | None = None,
        probability: float | None = None,
        http_status: int | None = None,
        kind: str = "error",
        function: str | None = None,
    ) -> FaultRule:
        rule = FaultRule(
            service=service,
            operation=operation,
            error_code=error_code,
            message=message,
            count=count,
            probability=probability,
            http_status=http_status,
            kind=kind,
            function=function,
        )
        with self._lock:
            self._rules.append(rule)
            self.active = True
        return rule

    def add_rule(self, data: dict[str, Any]) -> FaultRule:
        """Add a rule from a JSON object (HTTP/CLI); accepts `error` as an alias of error_code."""
        data = dict(data)
        if "error" in data and "error_code" not in data:
            data["error_code"] = data.pop("error")
        allowed = {
            "service",
            "operation",
            "error_code",
            "message",
            "count",
            "probability",
            "http_status",
            "kind",
            "function",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        if "service" not in data:
            raise ValueError("a fault rule needs a service")
        return self.add(**data)

    def reseed(self, seed: int | None) -> None:
        """Restart the random draws of probability rules from `seed` (a chaos run's schedule)."""
        with self._lock:
            self._random.seed(seed)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            self.active = bool(self._rules)
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.active = False

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def stats(self) -> list[dict[str, Any]]:
        """One entry per rule: the rule and how many requests it failed (`injected`)."""
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def match(self, service: str, operation: str, function: str | None = None) -> FaultRule | None:
        """The rule that fails this call (and count it), or None."""
        if not self.active:
            return None
        service = normalise_service(service)
        with self._lock:
            for rule in self._rules:
                if not rule.matches(service, operation, function):
                    continue
                rule.seen += 1
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.injected += 1
                return rule
        return None


# -- identifying a request ----------------------------------------------------------------------


@dataclass
class RequestInfo:
    service: str | None
    operation: str | None
    protocol: str  # json | cbor | query | rest-json | rest-xml


def identify_request(environ: dict[str, Any], body: bytes) -> RequestInfo:
    """Service, operation and wire protocol of a raw AWS request."""
    service = None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    if match:
        service = normalise_service(match.group(1))
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = service or TARGET_PREFIXES.get(prefix)
        return RequestInfo(service, operation, "json")
    path = environ.get("PATH_INFO", "")
    if environ.get("HTTP_SMITHY_PROTOCOL", "").startswith("rpc-v2-cbor"):
        parts = path.strip("/").split("/")
        operation = parts[-1] if "operation" in parts else None
        return RequestInfo(service, operation, "cbor")
    action = None
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]
    action = action or parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]
    if action:
        return RequestInfo(service, action, "query")
    if service is None:
        return RequestInfo(None, None, "rest-json")
    model = _service_model(service)
    protocol = model.protocol if model is not None else "rest-json"
    if protocol not in ("rest-json", "rest-xml"):
        protocol = "rest-json"
    operation = _rest_operation(service, environ.get("REQUEST_METHOD", "GET"), unquote(path))
    return RequestInfo(service, operation, protocol)


@functools.lru_cache(maxsize=64)
def _service_model(service: str):
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:
        return None


@functools.lru_cache(maxsize=64)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], int, str]]:
    model = _service_model(service)
    routes = []
    for name in model.operation_names if model is not None else []:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/").split("?")[0]
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(uri))
        pattern = re.sub(r"\\\{[^}]+?\\\}", "[^/]+", pattern)
        routes.append(
            (http.get("method", "GET"), re.compile(pattern.rstrip("/") + "/?$"), literal, name)
        )
    routes.sort(key=lambda route: -route[2])
    return routes


def _rest_operation(service: str, method: str, path: str) -> str | None:
    for route_method, pattern, _, name in _rest_routes(service):
        if route_method == method and pattern.match(path):
            return name
    return None


# -- answering with an AWS error ----------------------------------------------------------------


def _error_details(service: str, code: str, http_status: int | None) -> tuple[str, str, int, bool]:
    """(shape name, query-compatible code, status, sender fault) from the service model."""
    status = http_status or DEFAULT_STATUS.get(code)
    model = _service_model(service)
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
    rule: FaultRule, info: RequestInfo, request_id: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of the AWS error this rule injects, in the request's protocol."""
    service = info.service or rule.service
    request_id = request_id or str(uuid.uuid4())
    code = rule.error_code
    message = rule.message or f"{code} (injected by local_aws fault rule {rule.id})"
    shape_name, query_code, status, sender = _error_details(service, code, rule.http_status)
    model = _service_model(service)
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


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
