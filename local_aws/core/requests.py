"""Which service, operation and wire protocol a raw AWS request is for.

From what the SDKs send: the SigV4 credential scope (service), `X-Amz-Target` (awsJson),
`smithy-protocol` (RPC v2 CBOR), the query `Action`, or else the service model's REST routes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
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


def normalise_service(name: str) -> str:
    name = name.strip().lower()
    return SERVICE_ALIASES.get(name, name)


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
    model = service_model(service)
    protocol = model.protocol if model is not None else "rest-json"
    if protocol not in ("rest-json", "rest-xml"):
        protocol = "rest-json"
    operation = _rest_operation(service, environ.get("REQUEST_METHOD", "GET"), unquote(path))
    return RequestInfo(service, operation, protocol)


@functools.lru_cache(maxsize=64)
def service_model(service: str):
    """botocore's model of a service (None for an unknown name)."""
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:
        return None


@functools.lru_cache(maxsize=64)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], int, str]]:
    model = service_model(service)
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
