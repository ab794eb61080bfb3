"""Step Functions Local mock configurations on the local endpoint, as the image reads them: any
state machine name, mocked states inside Parallel and Map states, and attempt ranges."""

from __future__ import annotations

import json

import pytest

from local_aws.stepfunctions import mock_config

NAME = "Any_Name-1"
TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "not-deployed", "Payload.$": "$"},
    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
    "OutputPath": "$.Payload",
    "End": True,
}
DEFINITION = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "InBranch", "States": {"InBranch": TASK}},
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {"StartAt": "InMap", "States": {"InMap": TASK}},
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        }
    },
}
CONFIG = {
    "StateMachines": {NAME: {"TestCases": {"Flaky": {"InBranch": "FlakyThenOk", "InMap": "Ok"}}}},
    "MockedResponses": {
        "FlakyThenOk": {
            "0-1": {"Throw": {"Error": "Flaky", "Cause": "try again"}},
            "2": {"Return": {"StatusCode": 200, "Payload": {"from": "branch"}}},
        },
        "Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"from": "map"}}}},
    },
}


@pytest.fixture
def mocked(stack):
    previous = stack.stepfunctions.mock_resolver
    mock_config.install(stack, mock_config.parse(CONFIG))
    yield
    stack.stepfunctions.mock_resolver = previous


def test_mocks_reach_states_in_parallel_and_map_with_attempt_ranges(mocked, create_machine, sfn):
    machine = create_machine(DEFINITION, name=NAME)
    result = sfn.start_sync_execution(stateMachineArn=f"{machine}#Flaky", input='{"items": [1, 2]}')
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == [{"from": "branch"}, [{"from": "map"}, {"from": "map"}]]
    events = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
    failed = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failed == ["Flaky", "Flaky"]  # attempts 0-1 threw, attempt 2 returned


def test_load_needs_a_path_or_the_env_var(tmp_path, monkeypatch):
    """No default file (Step Functions Local has none either): the error says what to set."""
    monkeypatch.delenv(mock_config.ENV_VAR, raising=False)
    with pytest.raises(mock_config.MockConfigError, match="pass a path or set \\$SFN_MOCK_CONFIG"):
        mock_config.load()
    path = tmp_path / "Mocks.json"
    path.write_text(json.dumps(CONFIG))
    assert mock_config.load(path).state_machine_names() == [NAME]
    monkeypatch.setenv(mock_config.ENV_VAR, str(path))
    assert mock_config.load().source == str(path)
