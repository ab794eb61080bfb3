"""Injected faults use each service's own wire protocol: boto3 raises real ClientErrors."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from local_aws import cli


@pytest.fixture(scope="module")
def resources(stack):
    ddb = stack.client("dynamodb")
    table = f"faults-{uuid.uuid4().hex[:6]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = f"faults-{uuid.uuid4().hex[:6]}"
    queue_url = stack.client("sqs").create_queue(QueueName=queue)["QueueUrl"]
    return {"table": table, "queue": queue, "queue_url": queue_url}


def error_of(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


CASES = [
    ("dynamodb", "PutItem", "ProvisionedThroughputExceededException", 400),
    ("dynamodb", "GetItem", "InternalServerError", 500),
    ("sqs", "SendMessage", "RequestThrottled", 400),
    ("sqs", "DeleteMessage", "ReceiptHandleIsInvalid", 400),
    ("sqs", "GetQueueUrl", "AWS.SimpleQueueService.NonExistentQueue", 400),
    ("cloudwatch", "PutMetricData", "InternalServiceError", 500),
]


def _call(stack, resources, service, operation):
    ddb, sqs, cw = stack.client("dynamodb"), stack.client("sqs"), stack.client("cloudwatch")
    table, queue_url = resources["table"], resources["queue_url"]
    return {
        "PutItem": lambda: ddb.put_item(TableName=table, Item={"k": {"S": "a"}}),
        "GetItem": lambda: ddb.get_item(TableName=table, Key={"k": {"S": "a"}}),
        "SendMessage": lambda: sqs.send_message(QueueUrl=queue_url, MessageBody="x"),
        "DeleteMessage": lambda: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle="rh"),
        "GetQueueUrl": lambda: sqs.get_queue_url(QueueName=resources["queue"]),
        "PutMetricData": lambda: cw.put_metric_data(
            Namespace="Faults", MetricData=[{"MetricName": "M", "Value": 1.0}]
        ),
    }[operation]


@pytest.mark.parametrize(("service", "operation", "code", "status"), CASES)
def test_boto3_raises_the_injected_error(
    stack, resources, faults, service, operation, code, status
):
    # QueueDoesNotExist is reported under its query-compatible code, as SQS does.
    given = {"AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist"}.get(code, code)
    given = {"InternalServiceError": "InternalServiceFault"}.get(given, given)
    rule = faults.add(service, operation, given, count=1)
    call = _call(stack, resources, service, operation)
    error = error_of(call)
    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert rule.injected == 1
    if operation != "DeleteMessage":  # (a made-up receipt handle is rejected by SQS itself)
        call()  # count=1: the next call goes through


def test_probability_and_stats(stack, resources, faults):
    never = faults.add("dynamodb", "GetItem", "ThrottlingException", probability=0.0)
    always = faults.add("dynamodb", "PutItem", "ThrottlingException", probability=1.0)
    ddb = stack.client("dynamodb")
    ddb.get_item(TableName=resources["table"], Key={"k": {"S": "a"}})
    assert (
        error_of(
            lambda: ddb.put_item(TableName=resources["table"], Item={"k": {"S": "b"}})
        ).response["Error"]["Code"]
        == "ThrottlingException"
    )
    stats = {rule["id"]: rule for rule in faults.stats()}
    assert stats[never.id]["injected"] == 0 and stats[never.id]["seen"] == 1
    assert stats[always.id]["injected"] == 1


def test_lambda_sees_a_real_client_error(stack, resources, faults):
    faults.add("dynamodb", "PutItem", "ConditionalCheckFailedException", count=1)
    event = {
        "service": "dynamodb",
        "method": "put_item",
        "params": {"TableName": resources["table"], "Item": {"k": {"S": "c"}}},
    }
    response = stack.client("lambda").invoke(FunctionName="sdk_call", Payload=json.dumps(event))
    assert json.loads(response["Payload"].read())["error_code"] == "ConditionalCheckFailedException"


def test_lambda_invoke_error_crash_and_timeout(stack, faults):
    lam = stack.client("lambda")
    faults.add("lambda", "Invoke", "TooManyRequestsException", count=1)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName="echo", Payload=b"{}")

    faults.add("lambda", kind="crash", function="echo", count=1)
    crashed = lam.invoke(FunctionName="echo", Payload=b"{}")
    assert json.loads(crashed["Payload"].read())["errorType"] == "Runtime.ExitError"

    faults.add("lambda", kind="timeout", function="echo", count=1)
    timed_out = lam.invoke(FunctionName="echo", Payload=b"{}")
    assert json.loads(timed_out["Payload"].read())["errorType"] == "Sandbox.Timedout"

    ok = lam.invoke(FunctionName="echo", Payload=b"{}")
    assert "FunctionError" not in ok


def test_http_control_surface(stack, faults):
    url = f"{stack.endpoint_url}/_local_aws/faults"
    rule = {"service": "sqs", "operation": "SendMessage", "error": "RequestThrottled", "count": 2}
    request = urllib.request.Request(url, data=json.dumps(rule).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        created = json.loads(response.read())["rules"][0]
    assert created["error_code"] == "RequestThrottled" and created["remaining"] == 2
    with urllib.request.urlopen(url) as response:
        assert [r["id"] for r in json.loads(response.read())["rules"]] == [created["id"]]
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE")) as response:
        assert json.loads(response.read()) == {"rules": []}
    assert faults.stats() == []


def test_cli_adds_lists_and_clears(stack, faults, capsys):
    endpoint = ["--endpoint", stack.endpoint_url]
    cli.main(
        ["faults", *endpoint, "add", "--service", "dynamodb", "--operation", "PutItem",
         "--error", "ProvisionedThroughputExceededException", "--count", "3"]
    )  # fmt: skip
    assert "ProvisionedThroughputExceededException" in capsys.readouterr().out
    [rule] = faults.stats()
    assert (rule["service"], rule["operation"], rule["count"]) == ("dynamodb", "PutItem", 3)
    cli.main(["faults", *endpoint, "list"])
    assert rule["id"] in capsys.readouterr().out
    cli.main(["faults", *endpoint, "clear"])
    assert faults.stats() == []


def test_api_calls_are_counted_by_service_and_operation(stack, resources):
    before = stack.api_calls.snapshot().get("dynamodb", {}).get("GetItem", 0)
    stack.client("dynamodb").get_item(TableName=resources["table"], Key={"k": {"S": "z"}})
    with urllib.request.urlopen(f"{stack.endpoint_url}/_local_aws/api-calls") as response:
        counts = json.loads(response.read())["api_calls"]
    assert counts["dynamodb"]["GetItem"] == before + 1
