"""Make one AWS SDK call described by the event; report the outcome (ClientError code or result)."""

import boto3
from botocore.exceptions import ClientError

_clients = {}


def lambda_handler(event, context):
    service = event["service"]
    client = _clients.get(service) or _clients.setdefault(service, boto3.client(service))
    try:
        getattr(client, event["method"])(**event.get("params", {}))
    except ClientError as error:
        return {"error_code": error.response["Error"]["Code"], "boto3": boto3.__file__}
    return {"error_code": None, "boto3": boto3.__file__}
