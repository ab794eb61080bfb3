"""statemachine/test/MockConfigFile.json: its structure, its agreement with the ASL (state names
are an API; Retry counts), with the scenario table, and with the real Lambdas (no drift).

The file is what Step Functions Local reads in Docker (docker-compose.yml) and what the local stack
reads in `make test` (pipeline_tools.mock_config); these checks keep it honest for both.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import botocore.session
import pytest
import yaml
from mock_scenarios import SCENARIOS, Scenario
from real_lambdas import REPRODUCTIONS, RealLambdas, record_of

from local_aws.stepfunctions.mock_config import (
    MockConfigError,
    MockedAttempts,
    parse,
    task_states,
)
from pipeline_tools import mock_config as pipeline_mock_config
from pipeline_tools.mock_config import MOCK_CONFIG_PATH, STATE_MACHINE_NAME

REPO = Path(__file__).resolve().parents[2]
BY_CASE = {s.test_case: s for s in SCENARIOS}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def mocked_states(mock_config, scenario: Scenario) -> dict[str, str]:
    return dict(mock_config.test_cases(STATE_MACHINE_NAME)[scenario.test_case])


# -- structure ----------------------------------------------------------------------------------


def test_the_file_has_the_pipeline_and_only_known_task_states(mock_config, definition):
    assert mock_config.state_machine_names() == [STATE_MACHINE_NAME]
    assert mock_config.problems_with(STATE_MACHINE_NAME, definition) == []


def test_an_unknown_state_name_is_reported(mock_config, definition):
    renamed = json.loads(MOCK_CONFIG_PATH.read_text(encoding="utf-8"))
    cases = renamed["StateMachines"][STATE_MACHINE_NAME]["TestCases"]
    cases["HappyPath"]["SaveMessage"] = cases["HappyPath"].pop("Save")
    cases["Duplicate"]["IsDuplicate"] = "CheckIdempotencyDuplicate"  # a Choice: not mockable
    problems = parse(renamed, "renamed").problems_with(STATE_MACHINE_NAME, definition)
    assert len(problems) == 2
    assert "HappyPath: 'SaveMessage' is no state of the definition" in problems[0]
    assert "Duplicate: 'IsDuplicate' is not a Task of the definition" in problems[1]


def test_every_test_case_has_a_scenario_and_every_response_is_used(mock_config):
    cases = mock_config.test_cases(STATE_MACHINE_NAME)
    assert sorted(cases) == sorted(BY_CASE)
    used = {response for states in cases.values() for response in states.values()}
    assert used == set(mock_config.responses)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_exactly_the_tasks_on_the_path_are_mocked(mock_config, definition, scenario):
    """Step Functions Local calls the real service for an unmocked Task: every Task the scenario
    enters must be mocked (so Docker needs no other service), and nothing else (no dead mocks)."""
    tasks = task_states(definition)
    on_path = [state for state in scenario.path if state in tasks]
    assert sorted(mocked_states(mock_config, scenario)) == sorted(set(on_path))


def _matches(retrier: dict, error: str) -> bool:
    names = retrier["ErrorEquals"]
    return error in names or "States.ALL" in names or "States.TaskFailed" in names


def simulate_attempts(state: dict, attempts: tuple[MockedAttempts, ...]) -> tuple[int, str]:
    """Run a state's Retry rules over the mocked attempts: (attempts made, how it ended)."""
    counts = [0] * len(state.get("Retry", []))
    answers = [a for a in attempts for _ in range(a.first, a.last + 1)]
    made = 0
    while True:
        if made >= len(answers):
            return made, "ran out of mocked attempts"
        answer = answers[made]
        made += 1
        if answer.kind == "Return":
            return made, "Return"
        error = answer.value["Error"]
        for index, retrier in enumerate(state.get("Retry", [])):
            if _matches(retrier, error):
                if counts[index] < retrier.get("MaxAttempts", 3):
                    counts[index] += 1
                    break
                return made, f"Throw {error} (retries exhausted)"
        else:
            return made, f"Throw {error} (not retried)"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_mocked_attempts_follow_the_asl_retry_counts(mock_config, definition, scenario):
    """A Throw the state retries needs a mocked answer for every retry the ASL makes, and no
    unused extra ones: if a Retry's MaxAttempts changes, this names the test cases to adjust."""
    tasks = task_states(definition)
    for state, response in mocked_states(mock_config, scenario).items():
        attempts = mock_config.attempts(response)
        made, ending = simulate_attempts(tasks[state], attempts)
        assert ending != "ran out of mocked attempts", (scenario.test_case, state, response)
        assert made == attempts[-1].last + 1, (
            f"{scenario.test_case}: {state} stops after {made} attempt(s) ({ending}) but "
            f"{response} defines {attempts[-1].last + 1}"
        )
        assert made == scenario.attempts.get(state, 1), (scenario.test_case, state, ending)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"StateMachines": {}, "Extra": {}}, "unknown field"),
        ({"StateMachines": {"M": {"TestCases": {"C": {"S": "Missing"}}}}}, "not in Mocked"),
        ({"StateMachines": {"M": {"Cases": {}}}}, "unknown field"),
        ({"StateMachines": {}, "MockedResponses": {"R": {"1": {"Return": 1}}}}, "from 0"),
        (
            {
                "StateMachines": {},
                "MockedResponses": {"R": {"0-1": {"Return": 1}, "1": {"Return": 2}}},
            },
            "overlaps",
        ),
        ({"StateMachines": {}, "MockedResponses": {"R": {"0": {}}}}, "exactly one"),
        (
            {"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}},
            "exactly one",
        ),
        (
            {"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {"Error": "E"}}}}},
            "Cause",
        ),
        ({"StateMachines": {}, "MockedResponses": {"R": {"first": {"Return": 1}}}}, "attempt"),
        ({"StateMachines": {}, "MockedResponses": {"R": {"2-1": {"Return": 1}}}}, "upwards"),
        ({"StateMachines": {}, "MockedResponses": {"R": {}}}, "no attempts"),
        ([], "JSON object"),
    ],
)
def test_malformed_files_are_rejected(raw, message):
    with pytest.raises(MockConfigError, match=message):
        parse(raw)


def test_the_cli_check_passes(capsys, mock_config):
    assert pipeline_mock_config.main(["check", str(MOCK_CONFIG_PATH)]) == 0
    cases = dict(mock_config.test_cases(STATE_MACHINE_NAME))
    assert f"{len(cases)} test case(s)" in capsys.readouterr().out


def test_the_definition_has_every_substitution_filled():
    text = pipeline_mock_config.pipeline_definition()
    assert "${" not in text
    tasks = task_states(json.loads(text))
    assert tasks["Save"]["Parameters"]["FunctionName"].endswith(":function:SaveFunction")
    assert tasks["RecordDynamoDBSaveError"]["Parameters"]["Namespace"] == "MessagesPipeline"


# -- the shapes of mocked results ---------------------------------------------------------------


def _operation(resource: str) -> tuple[str, str]:
    """arn:aws:states:::sqs:sendMessage -> (sqs, SendMessage); aws-sdk:<svc>:<op> likewise."""
    parts = resource.split(":")[5:]
    service, action = (parts[1], parts[2]) if parts[0] == "aws-sdk" else (parts[0], parts[1])
    return service, action[0].upper() + action[1:]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_mocked_results_have_the_service_result_shape(
    mock_config, definition, typed_errors, scenario
):
    session = botocore.session.get_session()
    tasks = task_states(definition)
    for state, response in mocked_states(mock_config, scenario).items():
        resource = tasks[state]["Resource"]
        service, operation = _operation(resource)
        shape = session.get_service_model(service).operation_model(operation).output_shape
        members = set(shape.members) if shape is not None else set()
        retried = {e for r in tasks[state].get("Retry", []) for e in r["ErrorEquals"]}
        for attempt in mock_config.attempts(response):
            where = f"{scenario.test_case}.{state} -> {response}[{attempt.first}]"
            if attempt.kind == "Return":
                assert isinstance(attempt.value, dict), where
                assert set(attempt.value) <= members, f"{where}: not a {operation} result"
                if resource == LAMBDA_INVOKE:
                    assert attempt.value["StatusCode"] == 200, where
                    assert isinstance(attempt.value["Payload"], dict), where
                    assert "FunctionError" not in attempt.value, f"{where}: use Throw"
                continue
            error = attempt.value["Error"]
            if resource != LAMBDA_INVOKE:
                assert error.split(".")[0] in {"SQS", "CloudWatch", "States"}, where
            elif error in retried and error.split(".")[0] in {"Lambda", "Sandbox"}:
                pass  # a Lambda service error the state retries, not a function error
            else:
                assert error in typed_errors, f"{where}: {error} is not a class in errors.py"
                cause = json.loads(attempt.value["Cause"])
                assert set(cause) == {"errorMessage", "errorType", "requestId", "stackTrace"}
                assert cause["errorType"] == error, where


# -- no drift from the real Lambdas ---------------------------------------------------------------


def _claims(mock_config, definition):
    """(test case, state, mocked response, attempt) for every answer of a Lambda task."""
    tasks = task_states(definition)
    for scenario in SCENARIOS:
        for state, response in mocked_states(mock_config, scenario).items():
            if tasks[state]["Resource"] != LAMBDA_INVOKE:
                continue
            for attempt in mock_config.attempts(response):
                yield scenario, state, response, attempt


_HASH = re.compile(r"\b[0-9a-f]{16}…")  # body_sha256 prefixes in PayloadMismatch texts


def test_mocked_lambda_answers_are_what_the_real_handlers_do(
    mock_config, definition, typed_errors, monkeypatch
):
    """Run the real handler on the scenario's event for every mocked answer of a Lambda task
    (fresh moto account each) and compare: a Return Payload must equal the handler's result, a
    Throw must name the exception class it raises, with its message in the Cause. Seen an
    assertion here? The Lambda changed: update MockConfigFile.json with the `real` value shown."""
    real = RealLambdas(monkeypatch)
    done: dict[tuple[str, str, str], object] = {}
    checked = 0
    for scenario, state, response, attempt in _claims(mock_config, definition):
        if attempt.kind == "Return":
            claim = attempt.value["Payload"].get("outcome", "validated")
            if state == "Delete" and "QuarantineMessage" in scenario.path:
                claim = "deleted after quarantine"
        else:
            claim = attempt.value["Error"]
            if claim not in typed_errors:
                continue  # a Lambda service error (throttling): nothing the handler does
        key = (state, claim, scenario.event)
        if key not in done:
            reproduce = REPRODUCTIONS.get((state, claim))
            assert reproduce is not None, f"no reproduction of {state} {claim} in real_lambdas.py"
            done[key] = reproduce(real, record_of(scenario.event))
        outcome = done[key]
        where = f"{scenario.test_case}.{state} -> {response}[{attempt.first}]"
        if attempt.kind == "Return":
            assert outcome.error is None, f"{where}: the real handler raised {outcome}"
            assert attempt.value["Payload"] == outcome.payload, f"{where}: real {outcome.payload}"
        else:
            cause = json.loads(attempt.value["Cause"])
            assert outcome.error == claim, f"{where}: the real handler gave {outcome}"
            assert _HASH.sub("<sha>", cause["errorMessage"]) == _HASH.sub(
                "<sha>", outcome.message
            ), f"{where}: real message {outcome.message!r}"
        checked += 1
    assert checked >= 30  # every Lambda answer of every test case


# -- the Docker path uses the same file and the same table ---------------------------------------


def test_compose_runs_pinned_sfn_local_on_this_file():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    image, _, tag = service["image"].partition(":")
    assert image == "amazon/aws-stepfunctions-local"
    assert tag and tag != "latest"
    target = service["environment"]["SFN_MOCK_CONFIG"]
    assert target == "/home/StepFunctionsLocal/MockConfigFile.json"
    (mount,) = service["volumes"]
    assert (REPO / mount["source"]).resolve() == MOCK_CONFIG_PATH
    assert mount["target"] == target
    assert mount.get("read_only") is True
    assert any(str(p).endswith(":8083") for p in service["ports"])


def test_the_docker_tests_run_this_scenario_table():
    path = REPO / "tests" / "sfn_local" / "test_sfn_local.py"
    spec = importlib.util.spec_from_file_location("_sfn_local_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing it never touches Docker
    assert module.SCENARIOS is SCENARIOS
