"""What IAM checks for one API request: the action, the resource ARN and the condition keys.

From the Service Authorization Reference ("Actions, resources, and condition keys for <service>",
docs.aws.amazon.com/service-authorization/latest/reference/): the resource type each action is
authorised on, and `*` for actions without resource-level permissions (cloudwatch:PutMetricData,
xray:PutTraceSegments, ...). The SQS batch operations are authorised as their single actions
(SendMessageBatch needs sqs:SendMessage: AWS's own AccessDenied for it names sqs:sendmessage, see
github.com/aws/serverless-application-model/issues/3633). Operations not listed here are
checked as `<prefix>:<Operation>` on `*`, which is right for actions without resource-level
permissions and stricter than AWS for the others (a resource-scoped grant does not match `*`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from botocore.parsers import RpcV2CBORParser

# boto3 service name -> IAM service prefix (where they differ).
IAM_PREFIX = {"stepfunctions": "states"}
# Operations whose IAM action is not `<prefix>:<Operation>`.
ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}
# Always allowed, whatever the policies say ("No permissions are required to perform this
# operation", STS API reference, GetCallerIdentity).
UNAUTHORISED_OPERATIONS = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class AuthzRequest:
    action: str  # e.g. "dynamodb:GetItem"
    resource: str  # an ARN, or "*"
    context: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    region: str
    account_id: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


def decode_params(protocol: str, body: bytes) -> dict[str, Any]:
    """The request's parameters from its body (json, cbor or query); {} when there are none."""
    if not body:
        return {}
    try:
        if protocol == "json":
            return json.loads(body)
        if protocol == "cbor":
            parser = RpcV2CBORParser()
            return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
        if protocol == "query":
            return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    except (ValueError, TypeError):
        return {}
    return {}


def describe(
    service: str, operation: str, params: Mapping[str, Any], path: str, endpoint: Endpoint
) -> AuthzRequest:
    prefix = IAM_PREFIX.get(service, service)
    action = f"{prefix}:{ACTION_NAMES.get((service, operation), operation)}"
    resolver = _RESOURCES.get(service)
    resource = "*"
    context: dict[str, list[str]] = {}
    if resolver is not None:
        resource = resolver(operation, params, path, endpoint, context) or "*"
    return AuthzRequest(action, resource, context)


def _sqs(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    url = params.get("QueueUrl")
    if url:
        parts = urlparse(str(url)).path.strip("/").split("/")
        if len(parts) >= 2:
            account, name = parts[-2], parts[-1]
            return f"arn:aws:sqs:{endpoint.region}:{account}:{name}"
    name = params.get("QueueName")
    if name:
        account = params.get("QueueOwnerAWSAccountId") or endpoint.account_id
        return f"arn:aws:sqs:{endpoint.region}:{account}:{name}"
    return None


def _dynamodb(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    table = params.get("TableName")
    if not table:
        return None
    table = str(table)
    return table if table.startswith("arn:") else endpoint.arn("dynamodb", f"table/{table}")


def _lambda(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    parts = path.strip("/").split("/")
    if "functions" not in parts or parts.index("functions") + 1 >= len(parts):
        return None
    function = unquote(parts[parts.index("functions") + 1])
    if function.startswith("arn:"):
        return function
    name, _, qualifier = function.partition(":")
    arn = endpoint.arn("lambda", f"function:{name}")
    return f"{arn}:{qualifier}" if qualifier else arn


def _stepfunctions(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    return params.get("stateMachineArn") or params.get("executionArn")


def _cloudwatch(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    # PutMetricData has no resource-level permissions; its condition key is the namespace.
    if operation == "PutMetricData" and params.get("Namespace"):
        context["cloudwatch:namespace"] = [str(params["Namespace"])]
    return None


def _logs(operation: str, params, path: str, endpoint: Endpoint, context) -> str | None:
    group = params.get("logGroupName")
    if not group:
        return None
    arn = endpoint.arn("logs", f"log-group:{group}")
    stream = params.get("logStreamName")
    return f"{arn}:log-stream:{stream}" if stream else arn


_Resolver = Callable[[str, Mapping[str, Any], str, Endpoint, dict], "str | None"]
_RESOURCES: dict[str, _Resolver] = {
    "sqs": _sqs,
    "dynamodb": _dynamodb,
    "lambda": _lambda,
    "stepfunctions": _stepfunctions,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
}
