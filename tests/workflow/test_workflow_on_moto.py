"""Run the real ASL on moto's Step Functions interpreter (in process) with scripted Lambdas.

The four functions are replaced by Python fakes (moto's Lambda backend would need Docker), and
retry waits are recorded instead of slept; SQS (the quarantine) and CloudWatch (the error metrics)
are moto's own backends. This checks behaviour the structural tests can only imply: routing,
what reaches the DLQ, which metrics are written, retries, and the final execution status.
"""

from __future__ import annotations

import json
import time
import types
import uuid
from collections.abc import Callable

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)
from workflow_files import ASL_PATH

REGION = "us-east-1"
ACCOUNT = "123456789012"
NAMESPACE = "Test/Pipeline"
FUNCTIONS = ("Validate", "CheckIdempotency", "Save", "Delete")
OK = {
    "Validate": {
        "message_id": "m-1",
        "type": "transaction_created",
        "body_sha256": "0" * 64,
        "message": {"large": "parsed body that ResultSelector drops"},
        "sqs": {"message_id": "s-1"},
    },
    "CheckIdempotency": {"outcome": "new", "message_id": "m-1"},
    "Save": {"outcome": "saved", "message_id": "m-1"},
    "Delete": {"outcome": "deleted", "message_id": "m-1"},
}

Behaviour = Callable[[dict], object]


def raises(error_type: str) -> Behaviour:
    """A Lambda that raises a Python exception of this class name."""

    def run(_payload):
        return {"errorType": error_type, "errorMessage": f"{error_type} for test"}

    run.function_error = True
    return run


def returns(result: dict) -> Behaviour:
    return lambda _payload: result


def service_error(code: str) -> ClientError:
    """An error of the Lambda service itself (surfaces as Lambda.<code>)."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} for test"},
            "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "r"},
        },
        "Invoke",
    )


class Harness:
    def __init__(self):
        self.behaviour: dict[str, list[Behaviour | Exception]] = {}
        self.calls: list[tuple[str, dict]] = []
        self.waits: list[float] = []
        self.metric_failures = 0
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.queue_url = self.sqs.create_queue(
            QueueName="messages.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.dlq_url = self.sqs.create_queue(
            QueueName="messages-dlq.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        definition = ASL_PATH.read_text(encoding="utf-8")
        substitutions = {f"{f}FunctionArn": self.function_arn(f) for f in FUNCTIONS}
        substitutions |= {"DeadLetterQueueUrl": self.dlq_url, "MetricsNamespace": NAMESPACE}
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", value)
        self.arn = self.sfn.create_state_machine(
            name="pipeline",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/pipeline",
            type="EXPRESS",
        )["stateMachineArn"]

    @staticmethod
    def function_arn(name: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    def script(self, function: str, *steps: Behaviour | Exception) -> None:
        """Successive invocations of `function` follow `steps`; then it succeeds."""
        self.behaviour[function] = list(steps)

    # moto calls this instead of lambda:Invoke
    def invoke(self, parameters, region, state_credentials):
        name = parameters["FunctionName"].rsplit(":", 1)[-1]
        payload = json.loads(parameters["Payload"])
        self.calls.append((name, payload))
        steps = self.behaviour.get(name) or []
        step = steps.pop(0) if steps else returns(OK[name])
        if isinstance(step, Exception):
            raise step
        result = step(payload)
        response = {"StatusCode": 200, "Payload": result}
        if getattr(step, "function_error", False):
            response["FunctionError"] = "Unhandled"
        return response

    def record(self, index: int, group: str = "g-1") -> dict:
        return {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": f"rh-{index}",
            "body": json.dumps({"message_id": f"m-{index}", "payload": {"amount": 1}}),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1700000000000",
                "SequenceNumber": str(10**19 + index),
                "MessageGroupId": group,
                "SenderId": "AIDA",
                "MessageDeduplicationId": f"d-{index}",
                "ApproximateFirstReceiveTimestamp": "1700000000001",
            },
            "messageAttributes": {},
            "md5OfBody": "x",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:messages.fifo",
            "awsRegion": REGION,
        }

    def run(self, records: list[dict]) -> dict:
        self.calls.clear()
        self.waits.clear()
        execution = self.sfn.start_execution(
            stateMachineArn=self.arn, name=str(uuid.uuid4()), input=json.dumps(records)
        )["executionArn"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.02)
        raise AssertionError("execution did not finish")

    def called(self) -> list[str]:
        return [name for name, _ in self.calls]

    def quarantined(self) -> list[dict]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return [
            {
                "body": m["Body"],
                **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()},
            }
            for m in messages
        ]

    def metrics(self) -> set[str]:
        listed = self.cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
        return {m["MetricName"] for m in listed}


@pytest.fixture
def sfn(monkeypatch):
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        harness = Harness()
        monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", harness.invoke)
        monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=harness.waits.append))
        original = state_task_service_aws_sdk.StateTaskServiceAwsSdk._eval_service_task

        def put_metric(self, env, resource_runtime_part, normalised_parameters, state_credentials):
            if harness.metric_failures:
                harness.metric_failures -= 1
                raise ClientError(
                    {
                        "Error": {"Code": "InternalServiceFault", "Message": "metrics down"},
                        "ResponseMetadata": {"HTTPStatusCode": 500, "RequestId": "r"},
                    },
                    "PutMetricData",
                )
            return original(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )

        monkeypatch.setattr(
            state_task_service_aws_sdk.StateTaskServiceAwsSdk, "_eval_service_task", put_metric
        )
        yield harness


# ----------------------------------------------------------------------------------- happy paths


def test_new_messages_are_processed_in_order_and_deleted(sfn):
    records = [sfn.record(i) for i in range(3)]
    result = sfn.run(records)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == [{"outcome": "deleted"}] * 3
    assert sfn.called() == ["Validate", "CheckIdempotency", "Save", "Delete"] * 3
    handles = [p["receiptHandle"] for name, p in sfn.calls if name == "Delete"]
    assert handles == ["rh-0", "rh-1", "rh-2"]
    assert sfn.quarantined() == [] and sfn.metrics() == set()


def test_every_lambda_receives_the_raw_record_plus_small_results(sfn):
    record = sfn.record(0)
    sfn.run([record])
    payloads = dict(sfn.calls)
    for name in FUNCTIONS:
        assert {k: payloads[name][k] for k in record} == record, name
    assert payloads["Validate"].keys() == record.keys()
    validated = payloads["CheckIdempotency"]["validated"]
    assert set(validated) == {"message_id", "type", "body_sha256", "execution_id"}
    assert validated["execution_id"].startswith("arn:aws:states:")
    assert payloads["Save"]["idempotency"] == {"outcome": "new"}
    assert payloads["Delete"]["save"] == {"outcome": "saved"}


def test_a_duplicate_is_deleted_without_saving(sfn):
    sfn.script("CheckIdempotency", returns({"outcome": "duplicate", "message_id": "m-0"}))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called() == ["Validate", "CheckIdempotency", "Delete"]


def test_losing_the_save_race_is_a_duplicate_not_an_error(sfn):
    sfn.script("Save", raises("DuplicateMessage"))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called() == ["Validate", "CheckIdempotency", "Save", "Delete"]
    assert sfn.quarantined() == [] and sfn.metrics() == set()


# ------------------------------------------------------------------------------------ quarantine


@pytest.mark.parametrize(
    ("function", "error", "expected_calls"),
    [
        ("Validate", "InvalidMessage", ["Validate", "Delete"]),
        ("CheckIdempotency", "PayloadMismatch", ["Validate", "CheckIdempotency", "Delete"]),
        ("Save", "PayloadMismatch", ["Validate", "CheckIdempotency", "Save", "Delete"]),
    ],
)
def test_invalid_and_conflicting_messages_are_quarantined_counted_and_deleted(
    sfn, function, error, expected_calls
):
    record = sfn.record(0)
    sfn.script(function, raises(error))
    result = sfn.run([record, sfn.record(1)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called()[: len(expected_calls)] == expected_calls
    assert sfn.called()[len(expected_calls) :] == ["Validate", "CheckIdempotency", "Save", "Delete"]
    (message,) = sfn.quarantined()
    assert message["body"] == record["body"]
    assert message["reason"] == error
    assert json.loads(message["reason_detail"])["errorType"] == error
    assert message["source_message_id"] == record["messageId"]
    assert message["execution_id"].startswith("arn:aws:states:")
    assert sfn.metrics() == {"InvalidMessages"}
    assert not [w for w in sfn.waits], "validation errors are not retried"


def test_a_failed_metric_does_not_undo_a_quarantine(sfn):
    sfn.script("Validate", raises("InvalidMessage"))
    sfn.metric_failures = 99
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called() == ["Validate", "Delete"]
    assert len(sfn.quarantined()) == 1


# ------------------------------------------------------------------------------- failing paths


@pytest.mark.parametrize(
    ("function", "error"),
    [("CheckIdempotency", "DynamoDBCheckError"), ("Save", "DynamoDBSaveError")],
)
def test_dynamodb_errors_are_retried_counted_and_fail_the_batch(sfn, function, error):
    sfn.script(function, raises(error), raises(error), raises(error))
    result = sfn.run([sfn.record(0), sfn.record(1)])
    assert result["status"] == "FAILED"
    assert result["error"] == error
    assert json.loads(result["cause"])["errorType"] == error
    assert sfn.called().count(function) == 3, "one call and two retries"
    assert "Delete" not in sfn.called(), "the message stays in the queue"
    assert sfn.called().count("Validate") == 1, "the Map stops at the first failed message"
    assert sfn.metrics() == {error}
    assert len(sfn.waits) == 2 and all(0 <= w <= 2 for w in sfn.waits)


@pytest.mark.parametrize(
    ("function", "error"),
    [("CheckIdempotency", "DynamoDBCheckError"), ("Save", "DynamoDBSaveError")],
)
def test_a_failed_metric_still_fails_with_the_original_error(sfn, function, error):
    sfn.script(function, raises(error), raises(error), raises(error))
    sfn.metric_failures = 99
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "FAILED"
    assert result["error"] == error


def test_a_transient_dynamodb_error_recovers_within_the_retries(sfn):
    sfn.script("Save", raises("DynamoDBSaveError"))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called() == ["Validate", "CheckIdempotency", "Save", "Save", "Delete"]
    assert sfn.metrics() == set()


@pytest.mark.parametrize("error", ["SQSGetURLError", "SQSDeleteError"])
def test_sqs_errors_are_counted_and_left_for_the_pipe(sfn, error):
    sfn.script("Delete", raises(error), raises(error), raises(error))
    result = sfn.run([sfn.record(0), sfn.record(1)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called().count("Delete") == 4, "three attempts for the first, one for the second"
    first = json.loads(result["output"])[0]
    assert first["Error"] == error
    assert sfn.metrics() == {error}


def test_unexpected_lambda_errors_fail_the_batch_without_a_metric(sfn):
    sfn.script("Validate", raises("KeyError"))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "FAILED"
    assert result["error"] == "KeyError"
    assert sfn.metrics() == set() and sfn.quarantined() == []


# --------------------------------------------------------------------------- Lambda service errors


@pytest.mark.parametrize(
    "code",
    [
        "TooManyRequestsException",
        "ServiceException",
        "AWSLambdaException",
        "ClientExecutionTimeoutException",
    ],
)
def test_lambda_service_errors_are_retried_with_capped_jittered_backoff(sfn, code):
    sfn.script("Delete", service_error(code), service_error(code), service_error(code))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "SUCCEEDED"
    assert sfn.called().count("Delete") == 4
    # Full jitter: each wait is drawn from [0, min(1 * 2**k, 4)].
    assert len(sfn.waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(sfn.waits, [1, 2, 4], strict=True))


# The retries a user relies on, per function: a Lambda service error or throttle is retried 3
# times, a timeout once. (Stated here, not read from the ASL: lowering them must fail a test.)
TRANSIENT = [
    (service_error("ServiceException"), "Lambda.ServiceException", 3),
    (service_error("TooManyRequestsException"), "Lambda.TooManyRequestsException", 3),
    (raises("Sandbox.Timedout"), "Sandbox.Timedout", 1),
]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize(
    ("failure", "error", "retries"), TRANSIENT, ids=[error for _, error, _ in TRANSIENT]
)
def test_every_function_retries_transient_lambda_errors(sfn, function, failure, error, retries):
    """`retries` failures are absorbed; one more is the function's own failure: the execution
    fails (Delete's is caught, counted as SQSDeleteError and left for the pipe to delete)."""
    sfn.script(function, *[failure] * retries)
    assert sfn.run([sfn.record(0)])["status"] == "SUCCEEDED"
    assert sfn.called().count(function) == retries + 1
    assert sfn.called()[-1] == "Delete" and sfn.metrics() == set()

    sfn.script(function, *[failure] * (retries + 1), returns(OK[function]))
    result = sfn.run([sfn.record(1)])
    assert sfn.called().count(function) == retries + 1, "no retry beyond the documented ones"
    if function == "Delete":
        assert result["status"] == "SUCCEEDED"
        assert json.loads(result["output"])[0]["Error"] == error
        assert sfn.metrics() == {"SQSDeleteError"}
    else:
        assert (result["status"], result["error"]) == ("FAILED", error)
        assert function == sfn.called()[-1], "the Map stops at the failed message"


def test_lambda_service_errors_beyond_the_retries_fail_the_batch(sfn):
    throttle = service_error("TooManyRequestsException")
    sfn.script("Validate", throttle, throttle, throttle, throttle)
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.TooManyRequestsException"


def test_a_lambda_timeout_is_retried_once(sfn):
    sfn.script("CheckIdempotency", raises("Sandbox.Timedout"), raises("Sandbox.Timedout"))
    result = sfn.run([sfn.record(0)])
    assert result["status"] == "FAILED"
    assert result["error"] == "Sandbox.Timedout"
    assert sfn.called().count("CheckIdempotency") == 2
