"""The workflow's states, one at a time, through the TestState API (boto3).

Every case is derived from statemachine/pipeline.asl.json (its Catch routes, Retry boundaries,
Choice rules and Fail paths), so a change to the ASL changes the cases, never a copy here. Task
states are tested with mocks (`mock.result` / `mock.errorOutput`), so no function, queue or
table is called.

By default the cases run against the session's local endpoint (`make test`, no account). To run
the same file against AWS Step Functions:

    SFN_TEST_STATE_ON_AWS=1 \\
    SFN_TEST_STATE_ROLE_ARN=arn:aws:iam::<account>:role/<role Step Functions can assume> \\
    AWS_REGION=<region> .venv/bin/python -m pytest tests/workflow/test_workflow_test_state.py

with credentials allowed `states:TestState` (and `iam:PassRole` on the role) in the usual boto3
places. The role is only needed for the states tested without a mock (Choice, Fail).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from pipeline_tools.mock_config import pipeline_definition

MACHINE = json.loads(pipeline_definition())
MAP_NAME = MACHINE["StartAt"]
ITERATION = MACHINE["States"][MAP_NAME]["ItemProcessor"]["States"]
RECORD = {"messageId": "m-1", "body": "{}", "attributes": {"MessageGroupId": "g-1"}}
UNLISTED_ERROR = "Unlisted.Error"  # an error name no ErrorEquals of the ASL lists


@pytest.fixture(scope="module")
def sfn(request):
    if os.environ.get("SFN_TEST_STATE_ON_AWS") == "1":
        import boto3

        return boto3.client("stepfunctions")
    return request.getfixturevalue("local_stack").client("stepfunctions")


@pytest.fixture(scope="module")
def role_arn():
    return os.environ.get("SFN_TEST_STATE_ROLE_ARN", "arn:aws:iam::123456789012:role/TestState")


def record_for(state_name: str) -> dict:
    """The record as it reaches the state: with the caught error when its Parameters read it."""
    parameters = json.dumps(ITERATION.get(state_name, {}).get("Parameters", {}))
    if "$.error." not in parameters:
        return dict(RECORD)
    return {**RECORD, "error": {"Error": "InvalidMessage", "Cause": "not JSON"}}


def run_state(sfn, state_name: str, payload: Any = None, **kwargs) -> dict:
    payload = record_for(state_name) if payload is None else payload
    # One state as the definition (what TestState has always accepted), not the machine with a
    # stateName: the iteration's states are nested in the Map.
    state = ITERATION.get(state_name) or MACHINE["States"][state_name]
    response = sfn.test_state(definition=json.dumps(state), input=json.dumps(payload), **kwargs)
    response.pop("ResponseMetadata", None)
    return response


def tasks_with(field: str) -> dict[str, dict]:
    return {name: state for name, state in ITERATION.items() if state.get(field)}


def matching(rules: list[dict], error: str) -> dict | None:
    """The first Retry/Catch rule that handles `error` (ASL: in order; States.ALL matches all)."""
    for rule in rules:
        if error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]:
            return rule
    return None


def exhausted_retries(state: dict, error: str) -> int:
    """retrierRetryCount at which the retrier for `error` has no attempts left (0: none)."""
    retrier = matching(state.get("Retry", []), error)
    return retrier.get("MaxAttempts", 3) if retrier else 0


def named_errors(rules: list[dict]) -> list[str]:
    return [
        e if e != "States.ALL" else UNLISTED_ERROR for rule in rules for e in rule["ErrorEquals"]
    ]


def set_path(document: dict, path: str, value: Any) -> dict:
    """`document` with `value` at the JSONPath `path` (plain `$.a.b` paths only)."""
    keys = path.removeprefix("$.").split(".")
    target = document
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
    return document


CATCH_CASES = [
    pytest.param(name, error, id=f"{name}-{error}")
    for name, state in tasks_with("Catch").items()
    for error in named_errors(state["Catch"])
]


@pytest.mark.parametrize(("name", "error"), CATCH_CASES)
def test_every_caught_error_goes_to_its_catchers_next_state(sfn, name, error):
    state = ITERATION[name]
    catcher = matching(state["Catch"], error)
    result = run_state(
        sfn,
        name,
        mock={"errorOutput": {"error": error, "cause": f"{error} cause"}},
        stateConfiguration={"retrierRetryCount": exhausted_retries(state, error)}
        if state.get("Retry")
        else {},
    )
    assert result["status"] == "CAUGHT_ERROR", result
    assert result["nextState"] == catcher["Next"]
    assert (result["error"], result["cause"]) == (error, f"{error} cause")
    output = json.loads(result["output"])
    # the catcher's ResultPath keeps the error next to the record, for the states after it
    assert output == set_path(
        record_for(name), catcher["ResultPath"], {"Error": error, "Cause": f"{error} cause"}
    )


RETRY_CASES = [
    pytest.param(name, error, id=f"{name}-{error}")
    for name, state in tasks_with("Retry").items()
    for error in named_errors(state["Retry"])
    if matching(state["Retry"], error).get("MaxAttempts", 3) > 0
]


@pytest.mark.parametrize(("name", "error"), RETRY_CASES)
def test_every_retrier_retries_up_to_its_max_attempts(sfn, name, error):
    state = ITERATION[name]
    last = exhausted_retries(state, error) - 1
    mock = {"errorOutput": {"error": error, "cause": "transient"}}
    retried = run_state(sfn, name, mock=mock, stateConfiguration={"retrierRetryCount": last})
    assert (retried["status"], retried["error"]) == ("RETRIABLE", error), retried
    assert "nextState" not in retried

    after = run_state(sfn, name, mock=mock, stateConfiguration={"retrierRetryCount": last + 1})
    catcher = matching(state.get("Catch", []), error)
    if catcher is None:
        assert (after["status"], after["error"]) == ("FAILED", error), after
    else:
        assert (after["status"], after["nextState"]) == ("CAUGHT_ERROR", catcher["Next"]), after


def test_an_error_no_rule_lists_fails_the_states_without_a_catch_all(sfn):
    for name, state in tasks_with("Retry").items():
        if matching(state.get("Catch", []), UNLISTED_ERROR) or matching(
            state["Retry"], UNLISTED_ERROR
        ):
            continue
        result = run_state(sfn, name, mock={"errorOutput": {"error": UNLISTED_ERROR, "cause": "?"}})
        assert (result["status"], result["error"]) == ("FAILED", UNLISTED_ERROR), (name, result)


def lambda_result(state: dict) -> dict:
    """A Lambda Invoke result whose Payload has every field the state's ResultSelector reads."""
    payload: dict = {}
    for path in (state.get("ResultSelector") or {}).values():
        if isinstance(path, str) and path.startswith("$.Payload."):
            set_path(payload, "$" + path.removeprefix("$.Payload"), path.rsplit(".", 1)[-1])
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": payload}


LAMBDA_TASKS = [
    name for name, s in ITERATION.items() if s.get("Resource") == "arn:aws:states:::lambda:invoke"
]


@pytest.mark.parametrize("name", LAMBDA_TASKS)
def test_every_lambda_task_passes_the_record_on_with_its_selected_result(sfn, name):
    state = ITERATION[name]
    result = run_state(
        sfn, name, mock={"result": json.dumps(lambda_result(state))}, inspectionLevel="DEBUG"
    )
    assert result["status"] == "SUCCEEDED", result
    assert result.get("nextState") == state.get("Next")
    selected = json.loads(result["inspectionData"]["afterResultSelector"])
    for key, path in state["ResultSelector"].items():
        if path.startswith("$.Payload."):
            assert selected[key.removesuffix(".$")] == path.rsplit(".", 1)[-1]
    after = json.loads(result["inspectionData"]["afterResultPath"])
    assert after == set_path(record_for(name), state["ResultPath"], selected)


def test_quarantine_sends_the_body_with_the_caught_error_as_reason(sfn):
    error = {"Error": "InvalidMessage", "Cause": "body is not JSON"}
    result = run_state(
        sfn,
        "QuarantineMessage",
        {**RECORD, "error": error},
        mock={"result": json.dumps({"MessageId": "1", "MD5OfMessageBody": "x"})},
        inspectionLevel="DEBUG",
    )
    assert (result["status"], result["nextState"]) == (
        "SUCCEEDED",
        ITERATION["QuarantineMessage"]["Next"],
    )
    sent = json.loads(result["inspectionData"]["afterParameters"])
    assert sent["MessageBody"] == RECORD["body"]
    assert sent["MessageGroupId"] == RECORD["attributes"]["MessageGroupId"]
    assert sent["MessageAttributes"]["reason"]["StringValue"] == error["Error"]
    assert sent["MessageAttributes"]["reason_detail"]["StringValue"] == error["Cause"]
    assert json.loads(result["output"]) == {**RECORD, "error": error}  # ResultPath null


CHOICE_CASES = [
    pytest.param(
        name,
        rule["Variable"],
        rule["StringEquals"],
        rule["Next"],
        id=f"{name}-{rule['StringEquals']}",
    )
    for name, state in ITERATION.items()
    if state["Type"] == "Choice"
    for rule in state["Choices"]
]


@pytest.mark.parametrize(("name", "variable", "value", "next_state"), CHOICE_CASES)
def test_choice_routes_each_rule_and_the_default(sfn, role_arn, name, variable, value, next_state):
    routed = run_state(sfn, name, set_path(dict(RECORD), variable, value), roleArn=role_arn)
    assert (routed["status"], routed["nextState"]) == ("SUCCEEDED", next_state)
    other = run_state(sfn, name, set_path(dict(RECORD), variable, value + "-not"), roleArn=role_arn)
    assert other["nextState"] == ITERATION[name]["Default"]


FAIL_STATES = [name for name, state in ITERATION.items() if state["Type"] == "Fail"]


@pytest.mark.parametrize("name", FAIL_STATES)
def test_fail_states_keep_the_lambdas_error_and_cause(sfn, role_arn, name):
    state = ITERATION[name]
    document = set_path(dict(RECORD), state["ErrorPath"], "DynamoDBSaveError")
    document = set_path(document, state["CausePath"], '{"errorMessage": "throttled"}')
    result = run_state(sfn, name, document, roleArn=role_arn)
    assert result == {
        "status": "FAILED",
        "error": "DynamoDBSaveError",
        "cause": '{"errorMessage": "throttled"}',
    }


@pytest.mark.parametrize(("failures", "status"), [(0, "SUCCEEDED"), (1, "FAILED")])
def test_the_batch_map_fails_at_the_first_failed_iteration(sfn, failures, status):
    # No ToleratedFailureCount/Percentage: no failed iteration is tolerated.
    outcomes = [{"outcome": "saved"}]
    result = run_state(
        sfn,
        MAP_NAME,
        [RECORD],
        mock={"result": json.dumps(outcomes)},
        stateConfiguration={"mapIterationFailureCount": failures},
        inspectionLevel="DEBUG",
    )
    assert result["status"] == status, result
    assert (
        result["inspectionData"]["maxConcurrency"] == MACHINE["States"][MAP_NAME]["MaxConcurrency"]
    )
    if status == "SUCCEEDED":
        assert json.loads(result["output"]) == outcomes and "nextState" not in result
    else:
        assert result["error"] == "States.ExceedToleratedFailureThreshold"


def test_a_failed_iteration_fails_the_batch_with_its_error(sfn):
    result = run_state(
        sfn,
        MAP_NAME,
        [RECORD],
        mock={"errorOutput": {"error": "DynamoDBSaveError", "cause": "throttled"}},
        stateConfiguration={"errorCausedByState": "FailDynamoDBSave"},
    )
    assert result == {"status": "FAILED", "error": "DynamoDBSaveError", "cause": "throttled"}
