"""Every test case of statemachine/test/MockConfigFile.json, run on the local stack (no Docker).

The same file Step Functions Local reads in Docker is loaded by pipeline_tools.mock_config
and installed as the LocalAWS Step Functions front's `mock_resolver`; each scenario then runs the
real ASL on moto's interpreter with StartExecution on `<stateMachineArn>#<TestCaseName>` and is
checked exactly as tests/sfn_local checks Step Functions Local (mock_scenarios.check). Retry
waits are recorded instead of slept (the interpreter's own Retry logic still decides every retry).
"""

from __future__ import annotations

import types

import pytest
from botocore.exceptions import ClientError
from mock_scenarios import SCENARIOS, check, ensure_state_machine, run
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from local_aws.stepfunctions import mock_config as sfn_mock_config
from local_aws.stepfunctions.mock_config import ENV_VAR
from pipeline_tools.mock_config import MOCK_CONFIG_PATH, STATE_MACHINE_NAME, load


@pytest.fixture(scope="module")
def stack(local_stack, mock_config):
    """The session's local stack answering `#TestCase` ARNs from the repository's file."""
    previous = local_stack.stepfunctions.mock_resolver
    sfn_mock_config.install(local_stack, mock_config)
    yield local_stack
    local_stack.stepfunctions.mock_resolver = previous


@pytest.fixture
def retry_waits(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=waits.append))
    return waits


@pytest.fixture
def pipeline(stack):
    """PipelineStateMachine (EXPRESS, as deployed), created again if moto was reset since."""
    return ensure_state_machine(
        stack.client("stepfunctions"), "EXPRESS", stack.region, stack.account_id
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(stack, pipeline, mock_config, retry_waits, scenario):
    result = run(stack.client("stepfunctions"), pipeline, scenario, deadline_s=20, poll_s=0.01)
    check(scenario, result, mock_config)
    assert len(retry_waits) == sum(n - 1 for n in scenario.attempts.values())


def test_an_undefined_test_case_is_refused(stack, pipeline):
    with pytest.raises(ClientError) as raised:
        stack.client("stepfunctions").start_execution(
            stateMachineArn=f"{pipeline}#NoSuchCase", input="[]"
        )
    assert raised.value.response["Error"]["Code"] == "InvalidName"


def test_without_a_test_case_nothing_is_mocked(stack, pipeline, mock_config):
    """A plain ARN runs the real integrations: here the Lambdas are not deployed, so Validate
    fails; proof that the mocks apply only to `#TestCase` executions."""
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=pipeline, input=SCENARIOS[0].input())["executionArn"]
    assert stack.stepfunctions.wait(arn, timeout=20) == "FAILED"


def test_resolution_by_name(mock_config):
    assert mock_config.entry_for(STATE_MACHINE_NAME) == STATE_MACHINE_NAME
    # a machine deployed from the template without a Name (CloudFormation-shaped name)
    assert mock_config.entry_for(f"{STATE_MACHINE_NAME}-A1B2C3D4E5F6") == STATE_MACHINE_NAME
    assert mock_config.entry_for("OtherStateMachine") is None
    assert mock_config("OtherStateMachine", "HappyPath") is None
    assert mock_config(STATE_MACHINE_NAME, "NoSuchCase") is None
    case = mock_config(STATE_MACHINE_NAME, "TransientSaveError")
    answers = case.state_mocked_responses["Save"].mocked_responses
    assert [type(a).__name__ for a in answers] == [
        "MockedResponseThrow",
        "MockedResponseThrow",
        "MockedResponseReturn",
    ]


def test_the_file_comes_from_the_env_or_an_explicit_path(tmp_path, monkeypatch):
    other = tmp_path / "Other.json"
    other.write_text('{"StateMachines": {"M": {"TestCases": {}}}, "MockedResponses": {}}')
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert load().source == str(MOCK_CONFIG_PATH)  # the pipeline's default, not local_aws's
    monkeypatch.setenv(ENV_VAR, str(other))
    assert load().state_machine_names() == ["M"]
    assert load(MOCK_CONFIG_PATH).source == str(MOCK_CONFIG_PATH)  # an explicit path wins


def test_local_aws_installs_the_file_named_by_sfn_mock_config(tmp_path, monkeypatch):
    """As Step Functions Local does: `SFN_MOCK_CONFIG` set when the endpoint is created."""
    from local_aws.server import LocalAWS

    monkeypatch.setenv(ENV_VAR, str(MOCK_CONFIG_PATH))
    aws = LocalAWS(port=0)  # not started: only the constructor's wiring is checked
    assert aws.stepfunctions.mock_resolver.source == str(MOCK_CONFIG_PATH)
    monkeypatch.delenv(ENV_VAR)
    assert LocalAWS(port=0).stepfunctions.mock_resolver is None


def test_start_sync_execution_takes_a_test_case_too(stack, pipeline, retry_waits):
    """What the pipe calls (Step Functions Local cannot: it has no StartSyncExecution)."""
    scenario = next(s for s in SCENARIOS if s.test_case == "PersistentSaveError")
    result = stack.client("stepfunctions").start_sync_execution(
        stateMachineArn=f"{pipeline}#{scenario.test_case}", input=scenario.input()
    )
    assert (result["status"], result["error"]) == ("FAILED", "DynamoDBSaveError")
    assert len(retry_waits) == 2
