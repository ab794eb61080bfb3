"""THE scenario table of statemachine/test/MockConfigFile.json, and a backend-neutral runner.

One row per test case of the mock configuration: the pipe event it runs on, the states it must
enter (in order, from GetExecutionHistory), the final status, and the task attempts that prove the
ASL's Retry counts were respected. The same rows run on two backends:

- tests/mock_config/: the local stack (moto's interpreter), in `make test`, no Docker;
- tests/sfn_local/: Step Functions Local in Docker, `make test-sfn-local`.

The runner uses only public Step Functions APIs that both have: CreateStateMachine,
StartExecution on `<arn>#<TestCase>`, DescribeExecution polled against a hard deadline (Step
Functions Local has no StartSyncExecution), GetExecutionHistory.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local_aws.stepfunctions.mock_config import MockConfig
from pipeline_tools.mock_config import STATE_MACHINE_NAME, pipeline_definition

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events" / "pipe"
ROLE_ARN = "arn:aws:iam::123456789012:role/PipelineStateMachineRole"

# every record path starts in the Map
_START = ("ProcessBatch", "Validate")
_STORED = (*_START, "CheckIdempotency", "IsDuplicate", "Save")
_QUARANTINED = ("QuarantineMessage", "RecordInvalidMessage", "Delete")
_DELETED = [{"outcome": "deleted"}]


@dataclass(frozen=True)
class Scenario:
    test_case: str
    event: str  # events/pipe/<event>.json
    path: tuple[str, ...]  # states entered, in order
    status: str = "SUCCEEDED"
    error: str | None = None  # the execution's error when FAILED
    output: Any = None  # the execution output when SUCCEEDED (None: not checked)
    attempts: dict[str, int] = field(default_factory=dict)  # task attempts, where > 1
    # the mocked response whose last Throw is the execution's error and cause (FAILED), or the
    # {"Error", "Cause"} output of the record (LeaveForPipeDelete)
    thrown_by: str | None = None

    def input(self) -> str:
        return (EVENTS / f"{self.event}.json").read_text(encoding="utf-8")

    def __str__(self) -> str:
        return self.test_case


SCENARIOS = (
    Scenario("HappyPath", "valid_transaction", (*_STORED, "Delete"), output=_DELETED),
    Scenario(
        "Duplicate",
        "valid_transaction",
        (*_START, "CheckIdempotency", "IsDuplicate", "Delete"),
        output=_DELETED,
    ),
    Scenario(
        "SameIdDifferentBody",
        "same_id_different_body",
        (*_START, "CheckIdempotency", *_QUARANTINED),
        output=_DELETED,
    ),
    Scenario("InvalidMessage", "invalid_missing_field", (*_START, *_QUARANTINED), output=_DELETED),
    Scenario(
        "TransientSaveError",
        "valid_transaction",
        (*_STORED, "Delete"),
        output=_DELETED,
        attempts={"Save": 3},
    ),
    Scenario(
        "PersistentSaveError",
        "valid_transaction",
        (*_STORED, "RecordDynamoDBSaveError", "FailDynamoDBSave"),
        status="FAILED",
        error="DynamoDBSaveError",
        attempts={"Save": 3},
        thrown_by="SavePersistentError",
    ),
    Scenario(
        "DeleteError",
        "valid_transaction",
        (*_STORED, "Delete", "RecordSQSDeleteError", "LeaveForPipeDelete"),
        attempts={"Delete": 3},
        thrown_by="DeletePersistentDeleteError",
    ),
    Scenario("DuplicateRace", "valid_transaction", (*_STORED, "Delete"), output=_DELETED),
    Scenario(
        "RaceWithOtherBody", "same_id_different_body", (*_STORED, *_QUARANTINED), output=_DELETED
    ),
    Scenario(
        "PersistentCheckError",
        "valid_transaction",
        (*_START, "CheckIdempotency", "RecordDynamoDBCheckError", "FailDynamoDBCheck"),
        status="FAILED",
        error="DynamoDBCheckError",
        attempts={"CheckIdempotency": 3},
        thrown_by="CheckIdempotencyPersistentError",
    ),
    Scenario(
        "GetURLError",
        "valid_transaction",
        (*_STORED, "Delete", "RecordSQSGetURLError", "LeaveForPipeDelete"),
        attempts={"Delete": 3},
        thrown_by="DeletePersistentGetURLError",
    ),
    Scenario(
        "MetricFailureKeepsSaveError",
        "valid_transaction",
        (*_STORED, "RecordDynamoDBSaveError", "FailDynamoDBSave"),
        status="FAILED",
        error="DynamoDBSaveError",
        attempts={"Save": 3, "RecordDynamoDBSaveError": 3},
        thrown_by="SavePersistentError",
    ),
    Scenario(
        "QuarantineFails",
        "invalid_missing_field",
        (*_START, "QuarantineMessage"),
        status="FAILED",
        error="SQS.AmazonSQSException",
        attempts={"QuarantineMessage": 3},
        thrown_by="QuarantineMessageFails",
    ),
    Scenario(
        "LambdaThrottled",
        "valid_transaction",
        (*_STORED, "Delete"),
        output=_DELETED,
        attempts={"Validate": 3},
    ),
    Scenario(
        "LambdaClientExecutionTimeout",
        "valid_transaction",
        (*_STORED, "Delete"),
        output=_DELETED,
        attempts={"Save": 2},
    ),
)


# -- running ------------------------------------------------------------------------------------


@dataclass
class Result:
    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    output: Any
    path: tuple[str, ...]
    attempts: dict[str, int]
    events: list[dict[str, Any]]


def ensure_state_machine(sfn: Any, machine_type: str, region: str, account_id: str) -> str:
    """Create `PipelineStateMachine` from the ASL (or update it if it exists); return its ARN."""
    definition = pipeline_definition(region, account_id)
    arn = f"arn:aws:states:{region}:{account_id}:stateMachine:{STATE_MACHINE_NAME}"
    try:
        described = sfn.describe_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("StateMachineDoesNotExist", "ResourceNotFound"):
            raise
    else:
        if described["definition"] != definition or described.get("type") != machine_type:
            sfn.delete_state_machine(stateMachineArn=arn)
        else:
            return arn
    return sfn.create_state_machine(
        name=STATE_MACHINE_NAME, definition=definition, roleArn=ROLE_ARN, type=machine_type
    )["stateMachineArn"]


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def state_path(events: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    )


def task_attempts(events: list[dict[str, Any]]) -> dict[str, int]:
    """How many times each Task state was scheduled (1 + its retries): TaskScheduled events
    belong to the state entered last (the Map runs one record at a time)."""
    attempts: dict[str, int] = {}
    current = None
    for event in events:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in ("TaskScheduled", "LambdaFunctionScheduled") and current:
            attempts[current] = attempts.get(current, 0) + 1
    return attempts


def run(
    sfn: Any, state_machine_arn: str, scenario: Scenario, *, deadline_s: float, poll_s: float
) -> Result:
    """StartExecution on `<arn>#<TestCase>`, poll DescribeExecution until it ends or the
    deadline passes (then fail: a stuck execution must never hang the suite)."""
    execution_arn = sfn.start_execution(
        stateMachineArn=f"{state_machine_arn}#{scenario.test_case}",
        name=f"{scenario.test_case}-{uuid.uuid4().hex[:12]}",
        input=scenario.input(),
    )["executionArn"]
    deadline = time.monotonic() + deadline_s
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{scenario.test_case}: {execution_arn} still RUNNING after {deadline_s} s; "
                f"states so far: {state_path(history(sfn, execution_arn))}"
            )
        time.sleep(poll_s)
    events = history(sfn, execution_arn)
    output = described.get("output")
    return Result(
        execution_arn=execution_arn,
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        output=json.loads(output) if output is not None else None,
        path=state_path(events),
        attempts=task_attempts(events),
        events=events,
    )


def check(scenario: Scenario, result: Result, config: MockConfig) -> None:
    """The assertions both backends share."""
    summary = (
        f"{scenario.test_case}: status {result.status} error {result.error!r} "
        f"cause {result.cause!r}\npath {list(result.path)}\nattempts {result.attempts}"
    )
    assert result.path == scenario.path, summary
    assert result.status == scenario.status, summary
    if scenario.status == "FAILED":
        assert result.error == scenario.error, summary
    else:
        assert result.error is None, summary
    if scenario.output is not None:
        assert result.output == scenario.output, summary
    if scenario.thrown_by is not None:
        thrown = config.attempts(scenario.thrown_by)[-1]
        assert thrown.kind == "Throw", scenario.thrown_by
        if scenario.status == "FAILED":
            assert (result.error, result.cause) == (thrown.value["Error"], thrown.value["Cause"])
        else:
            assert result.output == [thrown.value], summary
    for state, count in scenario.attempts.items():
        assert result.attempts.get(state) == count, summary
    # every other task state on the path ran exactly once
    for state, count in result.attempts.items():
        if state not in scenario.attempts:
            assert count == 1, summary
