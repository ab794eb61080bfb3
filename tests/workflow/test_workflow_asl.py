"""Structural checks of statemachine/pipeline.asl.json (docs/contract.md, docs/workflow.md)."""

from __future__ import annotations

import pytest
from conftest import placeholders

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
PUT_METRIC = "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"
SEND_MESSAGE = "arn:aws:states:::sqs:sendMessage"
TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TIMEOUTS = {"Sandbox.Timedout", "Lambda.Unknown"}
ERROR_METRICS = {
    "InvalidMessages",
    "DynamoDBCheckError",
    "DynamoDBSaveError",
    "SQSGetURLError",
    "SQSDeleteError",
}
CONTRACT_STATES = {
    "Validate",
    "CheckIdempotency",
    "IsDuplicate",
    "Save",
    "Delete",
    "QuarantineMessage",
    "RecordInvalidMessage",
    "RecordDynamoDBCheckError",
    "FailDynamoDBCheck",
    "RecordDynamoDBSaveError",
    "FailDynamoDBSave",
    "RecordSQSGetURLError",
    "RecordSQSDeleteError",
    "LeaveForPipeDelete",
}
CONTRACT_SUBSTITUTIONS = {
    "ValidateFunctionArn",
    "CheckIdempotencyFunctionArn",
    "SaveFunctionArn",
    "DeleteFunctionArn",
    "DeadLetterQueueUrl",
    "MetricsNamespace",
}
# state -> (function substitution, ResultPath, ResultSelector keys) per CONTRACT "work item"
LAMBDA_TASKS = {
    "Validate": (
        "ValidateFunctionArn",
        "$.validated",
        {"message_id", "type", "body_sha256", "execution_id"},
    ),
    "CheckIdempotency": ("CheckIdempotencyFunctionArn", "$.idempotency", {"outcome"}),
    "Save": ("SaveFunctionArn", "$.save", {"outcome"}),
    "Delete": ("DeleteFunctionArn", "$.delete", {"outcome"}),
}
# Where a message may legitimately end: stored/duplicate/quarantined and deleted, left for the
# pipe's own delete, or failed so that the pipe redelivers the batch.
TERMINALS = {"Delete", "LeaveForPipeDelete", "FailDynamoDBCheck", "FailDynamoDBSave"}


def successors(state: dict) -> list[str]:
    nexts = [state["Next"]] if "Next" in state else []
    nexts += [choice["Next"] for choice in state.get("Choices", [])]
    nexts += [state["Default"]] if "Default" in state else []
    nexts += [catcher["Next"] for catcher in state.get("Catch", [])]
    return list(dict.fromkeys(nexts))


def all_paths(states: dict, start: str) -> list[list[str]]:
    """Every maximal path from `start` over Next, Choice and Catch edges (fails on a cycle)."""
    paths = []

    def walk(name: str, path: list[str]) -> None:
        assert name not in path, f"cycle: {[*path, name]}"
        path = [*path, name]
        nexts = successors(states[name])
        if not nexts:
            paths.append(path)
        for nxt in nexts:
            walk(nxt, path)

    walk(start, [])
    return paths


def lambda_tasks(states: dict) -> dict:
    return {n: s for n, s in states.items() if s.get("Resource") == LAMBDA_INVOKE}


def metric_states(states: dict) -> dict:
    return {n: s for n, s in states.items() if s.get("Resource") == PUT_METRIC}


def catch_edges(states: dict) -> dict[str, set[str]]:
    """Catch target -> error names that lead there."""
    edges: dict[str, set[str]] = {}
    for state in states.values():
        for catcher in state.get("Catch", []):
            edges.setdefault(catcher["Next"], set()).update(catcher["ErrorEquals"])
    return edges


# ------------------------------------------------------------------------------------ top level


def test_top_level_is_one_inline_map_in_fifo_order(asl):
    assert asl["StartAt"] == "ProcessBatch"
    assert set(asl["States"]) == {"ProcessBatch"}
    batch = asl["States"]["ProcessBatch"]
    assert batch["Type"] == "Map"
    assert batch.get("ItemsPath", "$") == "$"
    assert batch["MaxConcurrency"] == 1
    assert batch["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert "Iterator" not in batch and "ItemSelector" not in batch
    assert batch.get("End") is True
    assert "Catch" not in batch and "Retry" not in batch, "a failed item must fail the execution"


def test_execution_ends_well_inside_the_pipe_budget(asl):
    assert 0 < asl["TimeoutSeconds"] <= 240


def test_state_names_match_contract(states):
    assert set(states) == CONTRACT_STATES


def test_item_processor_starts_at_validate(asl):
    assert asl["States"]["ProcessBatch"]["ItemProcessor"]["StartAt"] == "Validate"


def test_placeholders_match_contract(asl_text):
    assert placeholders(asl_text) == CONTRACT_SUBSTITUTIONS


def test_no_hard_coded_arns_or_urls(asl_text):
    assert "arn:aws:lambda" not in asl_text
    assert "arn:aws:sqs" not in asl_text
    assert "https://" not in asl_text


# ----------------------------------------------------------------------------------- lambda tasks


@pytest.mark.parametrize("name", sorted(LAMBDA_TASKS))
def test_lambda_task_shape(states, name):
    function, result_path, selector_keys = LAMBDA_TASKS[name]
    state = states[name]
    assert state["Type"] == "Task"
    assert state["Resource"] == LAMBDA_INVOKE
    assert state["Parameters"] == {"FunctionName": "${" + function + "}", "Payload.$": "$"}
    assert state["ResultPath"] == result_path
    assert {k.removesuffix(".$") for k in state["ResultSelector"]} == selector_keys


def test_lambda_tasks_are_exactly_the_four(states):
    assert set(lambda_tasks(states)) == set(LAMBDA_TASKS)


def test_validate_records_the_execution_id(states):
    assert states["Validate"]["ResultSelector"]["execution_id.$"] == "$$.Execution.Id"


@pytest.mark.parametrize("name", sorted(LAMBDA_TASKS))
def test_every_lambda_task_retries_transient_errors_with_jittered_backoff(states, name):
    retriers = states[name]["Retry"]
    transient = [r for r in retriers if TRANSIENT & set(r["ErrorEquals"])]
    assert len(transient) == 1
    retrier = transient[0]
    assert set(retrier["ErrorEquals"]) == TRANSIENT
    assert retrier["BackoffRate"] > 1
    assert retrier["JitterStrategy"] == "FULL"
    assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"]
    assert 1 <= retrier["MaxAttempts"] <= 5


@pytest.mark.parametrize("name", sorted(LAMBDA_TASKS))
def test_every_lambda_task_retries_timeouts_a_few_times(states, name):
    retriers = [r for r in states[name]["Retry"] if TIMEOUTS & set(r["ErrorEquals"])]
    assert len(retriers) == 1
    assert set(retriers[0]["ErrorEquals"]) == TIMEOUTS
    assert 1 <= retriers[0]["MaxAttempts"] <= 2


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("CheckIdempotency", {"DynamoDBCheckError"}),
        ("Save", {"DynamoDBSaveError"}),
        ("Delete", {"SQSGetURLError", "SQSDeleteError"}),
    ],
)
def test_service_errors_are_retried_briefly_before_the_catch(states, name, errors):
    retried = {e for r in states[name]["Retry"] for e in r["ErrorEquals"]}
    caught = {e for c in states[name]["Catch"] for e in c["ErrorEquals"]}
    assert errors <= retried and errors <= caught
    for retrier in states[name]["Retry"]:
        if errors & set(retrier["ErrorEquals"]):
            assert retrier["MaxAttempts"] <= 3
            assert retrier.get("MaxDelaySeconds", 0) <= 5


def test_validation_and_conflict_errors_are_never_retried(states):
    for name in LAMBDA_TASKS:
        retried = {e for r in states[name]["Retry"] for e in r["ErrorEquals"]}
        assert not retried & {"InvalidMessage", "PayloadMismatch", "DuplicateMessage"}
        assert "States.ALL" not in retried


def test_lambda_tasks_catch_only_typed_errors(states, typed_errors):
    """Anything unexpected must fail the execution so the pipe redelivers the batch, except in
    Delete: there the message is already handled (stored, a known duplicate, or quarantined), and
    failing would only redeliver it until SQS redrives a handled message to the DLQ (found by
    `make chaos`), so Delete's last catcher takes any error to RecordSQSDeleteError."""
    for name, state in lambda_tasks(states).items():
        catchers = state.get("Catch", [])
        if name == "Delete":
            assert catchers[-1] == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": "RecordSQSDeleteError",
            }
            catchers = catchers[:-1]
        for catcher in catchers:
            assert set(catcher["ErrorEquals"]) <= typed_errors, name
            assert catcher["ResultPath"] == "$.error", name


def test_every_typed_error_is_caught_somewhere(states, typed_errors):
    caught = {e for s in states.values() for c in s.get("Catch", []) for e in c["ErrorEquals"]}
    assert typed_errors <= caught, typed_errors - caught


@pytest.mark.parametrize(
    ("name", "error", "target"),
    [
        ("Validate", "InvalidMessage", "QuarantineMessage"),
        ("CheckIdempotency", "PayloadMismatch", "QuarantineMessage"),
        ("CheckIdempotency", "DynamoDBCheckError", "RecordDynamoDBCheckError"),
        ("Save", "DuplicateMessage", "Delete"),
        ("Save", "PayloadMismatch", "QuarantineMessage"),
        ("Save", "DynamoDBSaveError", "RecordDynamoDBSaveError"),
        ("Delete", "SQSGetURLError", "RecordSQSGetURLError"),
        ("Delete", "SQSDeleteError", "RecordSQSDeleteError"),
        ("Delete", "States.ALL", "RecordSQSDeleteError"),
    ],
)
def test_catch_routes(states, name, error, target):
    targets = [c["Next"] for c in states[name]["Catch"] if error in c["ErrorEquals"]]
    assert targets == [target]


def test_is_duplicate_sends_duplicates_to_delete_and_the_rest_to_save(states):
    choice = states["IsDuplicate"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.idempotency.outcome", "StringEquals": "duplicate", "Next": "Delete"}
    ]
    assert choice["Default"] == "Save"
    assert states["CheckIdempotency"]["Next"] == "IsDuplicate"
    assert states["Validate"]["Next"] == "CheckIdempotency"
    assert states["Save"]["Next"] == "Delete"
    assert states["Delete"].get("End") is True


# ------------------------------------------------------------------------- quarantine and metrics


def test_quarantine_message_per_contract(states):
    state = states["QuarantineMessage"]
    assert state["Resource"] == SEND_MESSAGE
    params = state["Parameters"]
    assert params["QueueUrl"] == "${DeadLetterQueueUrl}"
    assert params["MessageBody.$"] == "$.body"
    assert params["MessageGroupId.$"] == "$.attributes.MessageGroupId"
    assert params["MessageDeduplicationId.$"] == "$.messageId"
    assert params["MessageAttributes"] == {
        "reason": {"DataType": "String", "StringValue.$": "$.error.Error"},
        "reason_detail": {"DataType": "String", "StringValue.$": "$.error.Cause"},
        "source_message_id": {"DataType": "String", "StringValue.$": "$.messageId"},
        "execution_id": {"DataType": "String", "StringValue.$": "$$.Execution.Id"},
    }
    assert state["ResultPath"] is None
    assert state["Retry"], "a retried send is harmless: the dedup id makes SQS drop the copy"
    assert "Catch" not in state, "if the DLQ send fails, the execution must fail (redelivery)"
    assert state["Next"] == "RecordInvalidMessage"
    assert states["RecordInvalidMessage"]["Next"] == "Delete"


def test_only_quarantinable_errors_reach_the_quarantine(states):
    assert catch_edges(states)["QuarantineMessage"] == {"InvalidMessage", "PayloadMismatch"}


def test_every_error_metric_is_emitted_by_a_catch_branch(states):
    emitted = {}
    for name, state in metric_states(states).items():
        params = state["Parameters"]
        assert params["Namespace"] == "${MetricsNamespace}"
        assert params["MetricData"] == [
            {"MetricName": params["MetricData"][0]["MetricName"], "Value": 1, "Unit": "Count"}
        ]
        emitted[params["MetricData"][0]["MetricName"]] = name
    assert set(emitted) == ERROR_METRICS
    edges = catch_edges(states)
    # Each metric state is a Catch target, or (InvalidMessages) follows the quarantine, which
    # only Catch branches reach.
    for metric, name in emitted.items():
        if metric == "InvalidMessages":
            assert states["QuarantineMessage"]["Next"] == name
            assert "QuarantineMessage" in edges
        elif name == "RecordSQSDeleteError":  # also any unexpected error of Delete
            assert edges.get(name) == {metric, "States.ALL"}, name
        else:
            assert edges.get(name) == {metric}, name
    # ... and no metric state is on the happy path.
    happy = {"Validate", "CheckIdempotency", "IsDuplicate", "Save", "Delete"}
    for name in happy:
        assert states[name].get("Next") not in emitted.values()


@pytest.mark.parametrize(
    "name",
    [
        "RecordInvalidMessage",
        "RecordDynamoDBCheckError",
        "RecordDynamoDBSaveError",
        "RecordSQSGetURLError",
        "RecordSQSDeleteError",
    ],
)
def test_metric_states_keep_the_error_and_never_change_the_outcome(states, name):
    state = states[name]
    assert state["ResultPath"] is None, "the original $.error must survive"
    assert state["TimeoutSeconds"] <= 10
    catchers = state.get("Catch", [])
    # A failed metric goes exactly where the metric would have gone: a Fail path stays failed,
    # a success path stays successful, and $.error is not overwritten.
    assert catchers, name
    for catcher in catchers:
        assert catcher["Next"] == state["Next"]
        assert catcher["ResultPath"] not in ("$", "$.error")


@pytest.mark.parametrize(
    ("record", "fail"),
    [
        ("RecordDynamoDBCheckError", "FailDynamoDBCheck"),
        ("RecordDynamoDBSaveError", "FailDynamoDBSave"),
    ],
)
def test_fail_states_keep_the_original_error_and_cause(states, record, fail):
    assert states[record]["Next"] == fail
    state = states[fail]
    assert state["Type"] == "Fail"
    assert state["ErrorPath"] == "$.error.Error"
    assert state["CausePath"] == "$.error.Cause"
    assert "Error" not in state and "Cause" not in state


def test_sqs_error_paths_leave_the_message_for_the_pipe(states):
    assert states["RecordSQSGetURLError"]["Next"] == "LeaveForPipeDelete"
    assert states["RecordSQSDeleteError"]["Next"] == "LeaveForPipeDelete"
    assert states["LeaveForPipeDelete"]["Type"] == "Succeed"


# -------------------------------------------------------------------------------------- graph


def test_every_state_is_reachable(states):
    reached = {name for path in all_paths(states, "Validate") for name in path}
    assert reached == set(states)


@pytest.mark.parametrize("start", sorted(CONTRACT_STATES))
def test_every_path_from_every_state_ends_in_an_allowed_terminal(states, start):
    for path in all_paths(states, start):
        end = path[-1]
        assert end in TERMINALS, path
        if end == "Delete":
            assert states[end].get("End") is True
        elif end == "LeaveForPipeDelete":
            assert states[end]["Type"] == "Succeed"
        else:
            assert states[end]["Type"] == "Fail"


def test_paths_that_touch_a_message_in_the_quarantine_also_delete_it(states):
    for path in all_paths(states, "Validate"):
        if "QuarantineMessage" in path:
            q = path.index("QuarantineMessage")
            assert path[q : q + 3] == ["QuarantineMessage", "RecordInvalidMessage", "Delete"]


def test_every_fail_is_counted_first(states):
    for path in all_paths(states, "Validate"):
        if states[path[-1]]["Type"] == "Fail":
            assert path[-2].startswith("Record"), path


def test_nothing_is_stored_after_a_quarantine_or_deleted_before_a_check(states):
    for path in all_paths(states, "Validate"):
        if "QuarantineMessage" in path:
            assert "Save" not in path[path.index("QuarantineMessage") :]
        if "Delete" in path:
            before = path[: path.index("Delete")]
            assert "Validate" in before
            # Delete only after the message is stored, known as a duplicate, or quarantined.
            assert (
                "Save" in before
                or "QuarantineMessage" in before
                or ("IsDuplicate" in before and "Save" not in before)
            ), path
