"""TestState on the local endpoint, through boto3, against the API reference (API_TestState,
API_MockInput, API_TestStateConfiguration, API_InspectionData) and the developer guide's
"Testing state machines with TestState API"."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/test-state"

TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "InputPath": "$.order",
    "Parameters": {"FunctionName": "check", "Payload.$": "$"},
    "ResultSelector": {"verdict.$": "$.Payload.verdict"},
    "ResultPath": "$.check",
    "Retry": [
        {"ErrorEquals": ["Other"], "MaxAttempts": 5},
        {
            "ErrorEquals": ["Transient"],
            "MaxAttempts": 3,
            "IntervalSeconds": 2,
            "BackoffRate": 3,
            "MaxDelaySeconds": 10,
        },
    ],
    "Catch": [
        {"ErrorEquals": ["Invalid"], "ResultPath": "$.error", "Next": "Quarantine"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record"},
    ],
    "Next": "Save",
}
ORDER = {"order": {"id": "o-1"}}
INVOKE_RESULT = {"StatusCode": 200, "Payload": {"verdict": "ok"}}


def run(sfn, definition, **kwargs):
    kwargs.setdefault("input", json.dumps(ORDER))
    response = sfn.test_state(definition=json.dumps(definition), **kwargs)
    response.pop("ResponseMetadata")
    return response


def error_of(sfn, definition, **kwargs):
    with pytest.raises(ClientError) as caught:
        run(sfn, definition, **kwargs)
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Code"], error["Message"]


def mock_error(error, cause="why"):
    return {"errorOutput": {"error": error, "cause": cause}}


def test_a_mocked_task_runs_its_input_and_output_processing(sfn):
    result = run(sfn, TASK, mock={"result": json.dumps(INVOKE_RESULT)}, inspectionLevel="DEBUG")
    assert result["status"] == "SUCCEEDED"
    assert result["nextState"] == "Save"
    assert json.loads(result["output"]) == {"order": {"id": "o-1"}, "check": {"verdict": "ok"}}
    data = {key: json.loads(value) for key, value in result["inspectionData"].items()}
    assert data == {
        "input": ORDER,
        "afterInputPath": {"id": "o-1"},
        "afterParameters": {"FunctionName": "check", "Payload": {"id": "o-1"}},
        "result": INVOKE_RESULT,
        "afterResultSelector": {"verdict": "ok"},
        "afterResultPath": {"order": {"id": "o-1"}, "check": {"verdict": "ok"}},
    }


def test_info_level_has_no_inspection_data_and_trace_has_it(sfn):
    mock = {"result": json.dumps(INVOKE_RESULT)}
    assert "inspectionData" not in run(sfn, TASK, mock=mock)
    assert "inspectionData" not in run(sfn, TASK, mock=mock, inspectionLevel="INFO")
    assert "afterResultPath" in run(sfn, TASK, mock=mock, inspectionLevel="TRACE")["inspectionData"]


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_a_retrier_with_attempts_left_answers_retriable_with_its_backoff(sfn, retries):
    result = run(
        sfn,
        TASK,
        mock=mock_error("Transient"),
        stateConfiguration={"retrierRetryCount": retries},
        inspectionLevel="DEBUG",
    )
    assert (result["status"], result["error"], result["cause"]) == ("RETRIABLE", "Transient", "why")
    assert "nextState" not in result and "output" not in result
    # IntervalSeconds * BackoffRate ** retries, capped by MaxDelaySeconds: 2, 6, 10 (not 18)
    assert result["inspectionData"]["errorDetails"] == {
        "retryIndex": 1,
        "retryBackoffIntervalSeconds": [2, 6, 10][retries],
    }


def test_an_exhausted_retrier_hands_the_error_to_the_catchers(sfn):
    result = run(
        sfn,
        TASK,
        mock=mock_error("Transient"),
        stateConfiguration={"retrierRetryCount": 3},
        inspectionLevel="DEBUG",
    )
    assert (result["status"], result["nextState"], result["error"]) == (
        "CAUGHT_ERROR",
        "Record",
        "Transient",
    )
    assert json.loads(result["output"])["error"] == {"Error": "Transient", "Cause": "why"}
    assert result["inspectionData"]["errorDetails"] == {"retryIndex": 1, "catchIndex": 1}


def test_an_error_without_a_retrier_is_caught_at_once(sfn):
    result = run(sfn, TASK, mock=mock_error("Invalid", "bad body"))
    assert (result["status"], result["nextState"], result["cause"]) == (
        "CAUGHT_ERROR",
        "Quarantine",
        "bad body",
    )


def test_an_uncaught_error_fails_the_state(sfn):
    task = {key: value for key, value in TASK.items() if key != "Catch"}
    result = run(sfn, task, mock=mock_error("Invalid"))
    assert result == {"status": "FAILED", "error": "Invalid", "cause": "why"}


def test_choice_reports_the_next_state_and_fail_its_paths(sfn):
    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.kind", "StringEquals": "dup", "Next": "Delete"}],
        "Default": "Save",
    }
    for kind, expected in (("dup", "Delete"), ("new", "Save")):
        result = run(sfn, choice, input=json.dumps({"kind": kind}), roleArn=ROLE)
        assert (result["status"], result["nextState"]) == ("SUCCEEDED", expected)
    fail = {"Type": "Fail", "ErrorPath": "$.e.Error", "CausePath": "$.e.Cause"}
    result = run(sfn, fail, input=json.dumps({"e": {"Error": "E", "Cause": "C"}}), roleArn=ROLE)
    assert result == {"status": "FAILED", "error": "E", "cause": "C"}


def test_a_state_of_a_whole_machine_is_tested_by_name(sfn):
    machine = {
        "StartAt": "Loop",
        "States": {
            "Loop": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Check", "States": {"Check": TASK}},
                "End": True,
            }
        },
    }
    result = run(sfn, machine, stateName="Check", mock={"result": json.dumps(INVOKE_RESULT)})
    assert (result["status"], result["nextState"]) == ("SUCCEEDED", "Save")
    code, message = error_of(sfn, machine, stateName="Nope", mock={"result": "{}"})
    assert code == "ValidationException" and "Nope" in message
    code, _ = error_of(sfn, machine, mock={"result": "{}"})
    assert code == "ValidationException"


def test_a_task_without_a_mock_calls_the_local_service(sfn, function_arn):
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn("echo"), "Payload": {"n": 1}},
        "ResultSelector": {"event.$": "$.Payload.event"},
        "End": True,
    }
    result = run(sfn, task, roleArn=ROLE)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"event": {"n": 1}}
    assert "nextState" not in result


START = {
    "Type": "Task",
    "Resource": "arn:aws:states:::states:startExecution",
    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"},
    "End": True,
}


@pytest.mark.parametrize(
    ("mode", "result", "problem"),
    [
        ("STRICT", {"ExecutionArn": "arn"}, "Required field 'StartDate' is missing"),
        (None, {"ExecutionArn": "arn"}, "Required field 'StartDate' is missing"),
        ("PRESENT", {"ExecutionArn": 7}, "Field 'ExecutionArn' must be a string"),
        ("STRICT", {"ExecutionArn": "a", "StartDate": True}, "Field 'StartDate' must be a string"),
    ],
)
def test_mocked_results_are_checked_against_the_api_model(sfn, mode, result, problem):
    mock = {"result": json.dumps(result)}
    if mode:
        mock["fieldValidationMode"] = mode
    code, message = error_of(sfn, START, mock=mock)
    assert code == "ValidationException"
    assert message == f"Mock result schema validation error: {problem}"


@pytest.mark.parametrize(
    ("mode", "result"),
    [("PRESENT", {"ExecutionArn": "arn"}), ("NONE", {"ExecutionArn": 7})],
)
def test_looser_validation_modes_accept_what_they_do_not_check(sfn, mode, result):
    mock = {"result": json.dumps(result), "fieldValidationMode": mode}
    assert run(sfn, START, mock=mock)["output"] == json.dumps(result)


MAP = {
    "Type": "Map",
    "ItemsPath": "$.items",
    "MaxConcurrency": 1,
    "ToleratedFailureCount": 1,
    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}},
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}],
    "End": True,
}


@pytest.mark.parametrize(
    ("failures", "status"), [(0, "SUCCEEDED"), (1, "SUCCEEDED"), (2, "CAUGHT_ERROR")]
)
def test_map_iteration_failures_beyond_the_tolerance_fail_the_map(sfn, failures, status):
    result = run(
        sfn,
        MAP,
        input=json.dumps({"items": [1, 2, 3]}),
        mock={"result": json.dumps([1, 2, 3])},
        stateConfiguration={"mapIterationFailureCount": failures},
        inspectionLevel="DEBUG",
    )
    assert result["status"] == status
    data = result["inspectionData"]
    assert (data["maxConcurrency"], data["toleratedFailureCount"]) == (1, 1)
    assert json.loads(data["afterItemsPath"]) == [1, 2, 3]
    if status == "CAUGHT_ERROR":
        assert result["error"] == "States.ExceedToleratedFailureThreshold"
        assert result["cause"] == "The specified tolerated failure threshold was exceeded"
        assert result["nextState"] == "Handle"
    else:
        assert json.loads(result["output"]) == [1, 2, 3]


def test_a_mocked_map_error_names_the_inner_state_that_caused_it(sfn):
    result = run(
        sfn,
        MAP,
        input=json.dumps({"items": [1]}),
        mock=mock_error("Boom"),
        stateConfiguration={"errorCausedByState": "Work"},
    )
    assert (result["status"], result["error"], result["nextState"]) == (
        "CAUGHT_ERROR",
        "Boom",
        "Handle",
    )
    code, message = error_of(
        sfn, MAP, mock=mock_error("Boom"), stateConfiguration={"errorCausedByState": "Elsewhere"}
    )
    assert code == "ValidationException" and "Elsewhere" in message


def test_jsonata_states_report_arguments_and_variables(sfn):
    task = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {
            "FunctionName": "check",
            "Payload": "{% {'id': $states.input.order.id, 'by': $who} %}",
        },
        "Assign": {"verdict": "{% $states.result.Payload.verdict %}"},
        "Output": "{% $states.result.Payload %}",
        "End": True,
    }
    result = run(
        sfn,
        task,
        variables=json.dumps({"who": "tester"}),
        mock={"result": json.dumps(INVOKE_RESULT)},
        inspectionLevel="DEBUG",
    )
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"verdict": "ok"}
    data = result["inspectionData"]
    assert json.loads(data["afterArguments"]) == {
        "FunctionName": "check",
        "Payload": {"id": "o-1", "by": "tester"},
    }
    assert json.loads(data["variables"]) == {"verdict": "ok"}


def test_the_context_object_can_be_given(sfn):
    passing = {
        "Type": "Pass",
        "Parameters": {"name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input"},
        "End": True,
    }
    result = run(sfn, passing, roleArn=ROLE, context=json.dumps({"Execution": {"Name": "given"}}))
    assert json.loads(result["output"]) == {"name": "given", "input": ORDER}


@pytest.mark.parametrize(
    ("definition", "kwargs", "code", "message"),
    [
        (
            TASK,
            {"mock": {"result": "{}", "errorOutput": {"error": "E", "cause": "C"}}},
            "ValidationException",
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ),
        (
            TASK,
            {"mock": {"result": "{}"}, "revealSecrets": True},
            "ValidationException",
            "TestState does not support RevealSecrets when a mock is specified.",
        ),
        (
            {"Type": "Pass", "End": True},
            {"mock": {"result": "{}"}},
            "ValidationException",
            "State type 'Pass' is not supported when a mock is specified",
        ),
        (
            MAP,
            {"roleArn": ROLE},
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. Supported state types "
            "include: [Task, Wait, Pass, Succeed, Fail, Choice]",
        ),
        (MAP, {"mock": {"result": "{}"}}, "ValidationException", "Mocked result must be an array."),
        (
            {"Type": "Parallel", "Branches": [MAP["ItemProcessor"]] * 2, "End": True},
            {"mock": {"result": "[1]"}},
            "ValidationException",
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
    ],
)
def test_requests_the_api_rejects_get_its_messages(sfn, definition, kwargs, code, message):
    assert error_of(sfn, definition, **kwargs) == (code, message)


@pytest.mark.parametrize(
    ("definition", "kwargs", "named"),
    [
        (TASK, {"mock": {"result": "not json"}}, "Mocked result"),
        (TASK, {"input": "{", "mock": {"result": "{}"}}, "input"),
        (
            {"Type": "Pass", "End": True},
            {"stateConfiguration": {"retrierRetryCount": 1}, "roleArn": ROLE},
            "Retry",
        ),
        (
            TASK,
            {"mock": {"result": "{}"}, "stateConfiguration": {"mapIterationFailureCount": 1}},
            "Map",
        ),
        (
            MAP,
            {"mock": {"result": "[]"}, "stateConfiguration": {"mapItemReaderData": "[1]"}},
            "ItemReader",
        ),
        ({**TASK, "Resource": "arn:aws:states:::http:invoke"}, {"roleArn": ROLE}, "HTTP"),
        (
            {**TASK, "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"},
            {"roleArn": ROLE},
            "mock",
        ),
        (TASK, {}, "roleArn"),
        ({"Type": "Task", "Resource": 3}, {"mock": {"result": "{}"}}, "Definition"),
    ],
)
def test_what_cannot_be_evaluated_is_a_client_error_naming_it(sfn, definition, kwargs, named):
    code, message = error_of(sfn, definition, **kwargs)
    assert code in ("ValidationException", "InvalidDefinition", "InvalidExecutionInput")
    assert named in message


def test_values_the_sdk_would_refuse_are_refused_by_the_endpoint_too(stack):
    from botocore.config import Config

    raw = stack.client("stepfunctions", config=Config(parameter_validation=False))
    for configuration in ({"retrierRetryCount": -1}, {"mapIterationFailureCount": "2"}):
        with pytest.raises(ClientError) as caught:
            raw.test_state(
                definition=json.dumps(TASK), mock={"result": "{}"}, stateConfiguration=configuration
            )
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert next(iter(configuration)) in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        raw.test_state(definition=json.dumps(TASK), mock={"result": "{}"}, inspectionLevel="ALL")
    assert "inspectionLevel" in caught.value.response["Error"]["Message"]
