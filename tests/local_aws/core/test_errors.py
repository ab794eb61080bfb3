"""Errors local_aws answers itself reach boto3 as the service's own ClientError, whatever the
protocol (awsJson for Step Functions, rest-json for Lambda and X-Ray): one serialiser,
local_aws/core/errors.py, shared with fault injection (tests/local_aws/faults/)."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

UNVALIDATED = Config(parameter_validation=False)


def _error(call, **params) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_step_functions_front_json_error(local_stack):
    sfn = local_stack.client("stepfunctions", config=UNVALIDATED)
    code, status, message = _error(sfn.start_sync_execution, input="{}")
    assert (code, status) == ("ValidationException", 400)
    assert "stateMachineArn" in message


def test_lambda_invoke_rest_json_error(local_stack):
    code, status, message = _error(
        local_stack.client("lambda").invoke, FunctionName="no-such-function", Payload=b"{}"
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    # Lambda names the qualified ARN of the missing function (docs/stepfunctions.md)
    assert message.endswith(":function:no-such-function:$LATEST")


def test_xray_api_rest_json_error(local_stack):
    xray = local_stack.client("xray", config=UNVALIDATED)
    code, status, message = _error(xray.get_trace_summaries, EndTime=dt.datetime.now(dt.UTC))
    assert (code, status) == ("InvalidRequestException", 400)
    assert message == "StartTime is required"
