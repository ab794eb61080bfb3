"""One test per patch of local_aws/stepfunctions/patches.py (and the execution log session of
executions.py): each fails when moto's interpreter changes in a way the patch relies on."""

from __future__ import annotations

import inspect
import json
import sys
import uuid

import pytest

from local_aws.stepfunctions import patches


@pytest.fixture
def lambda_machine(create_machine, function_arn):
    """An Express machine whose one Task invokes `echo` and keeps the trace header it saw."""
    return create_machine(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function_arn("echo"), "Payload.$": "$"},
                    "ResultSelector": {"trace.$": "$.Payload.trace_id"},
                    "End": True,
                }
            },
        }
    )


def test_moto_still_creates_interpreter_clients_with_the_signature_we_replace(stack):
    original = patches._moto_boto_client_for
    assert original is not None, "apply() did not find moto's boto_client_for"
    assert inspect.signature(original).parameters.keys() == (
        inspect.signature(patches._boto_client_for).parameters.keys()
    )


def test_every_interpreter_module_uses_the_cached_client(stack):
    holders = {
        name: module.boto_client_for
        for name, module in sys.modules.items()
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for")
    }
    # moto imports it by name into each integration module: all of them must see ours
    assert "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils" in (
        holders
    )
    assert {name for name, f in holders.items() if f is not patches._boto_client_for} == set()
    client = patches._boto_client_for(stack.region, "sqs")
    assert client is patches._boto_client_for(stack.region, "sqs")
    assert client.meta.endpoint_url == stack.endpoint_url


def test_lambda_tasks_invoke_in_process(lambda_machine, function_arn, sfn):
    calls = []
    original = patches._lambda_invoker

    def spy(params, trace_header, role_arn):
        calls.append(params["FunctionName"])
        return original(params, trace_header, role_arn)

    patches.set_lambda_invoker(spy)
    try:
        result = sfn.start_sync_execution(stateMachineArn=lambda_machine, input="{}")
    finally:
        patches.set_lambda_invoker(original)
    assert result["status"] == "SUCCEEDED", result
    assert calls == [function_arn("echo")]


@pytest.mark.parametrize("path", ["in process", "HTTP"])
def test_lambda_tasks_carry_the_execution_trace(lambda_machine, sfn, faults, path):
    if path == "HTTP":  # an active fault rule (for another function) sends Invoke over HTTP
        faults.add("lambda", kind="timeout", function="no-such-function", count=1)
    root = f"1-5759e988-{uuid.uuid4().hex[:24]}"
    result = sfn.start_sync_execution(
        stateMachineArn=lambda_machine, input="{}", traceHeader=f"Root={root};Sampled=1"
    )
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"])["trace"].startswith(f"Root={root};Parent=")


def test_jsonpath_expressions_are_parsed_once(create_machine, sfn):
    from moto.stepfunctions.parser.asl.utils import json_path

    machine = create_machine(
        {
            "StartAt": "Pick",
            "States": {
                "Pick": {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "End": True}
            },
        }
    )
    for _ in range(2):  # ResultPath places the result into the state's raw input
        output = sfn.start_sync_execution(stateMachineArn=machine, input='{"a": {"x": 1}}')
        assert json.loads(output["output"]) == {"a": {"x": 1}, "b": {"x": 1}}
    # moto still parses through the module-level `parse` we wrapped, so the second run hits
    before = json_path.parse.cache_info().hits
    sfn.start_sync_execution(stateMachineArn=machine, input='{"a": {"x": 2}}')
    assert json_path.parse.cache_info().hits > before


def test_execution_logs_are_one_json_line_per_history_event(stack, create_machine, sfn):
    logs = stack.client("logs")
    group = f"/aws/vendedlogs/states/test-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:{stack.region}:{stack.account_id}:log-group:{group}:*"
    machine = create_machine(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        loggingConfiguration={
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group_arn}}],
        },
    )
    result = sfn.start_sync_execution(stateMachineArn=machine, input='{"k": 1}')
    assert result["status"] == "SUCCEEDED"
    events = logs.filter_log_events(logGroupName=group)["events"]
    types = [json.loads(event["message"])["type"] for event in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types
    assert "PassStateEntered" in types


def test_jsonata_expressions_are_evaluated(create_machine, sfn):
    machine = create_machine(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Sum",
            "States": {
                "Sum": {
                    "Type": "Pass",
                    "Assign": {"n": "{% $count($states.input.items) %}"},
                    "Output": "{% {'total': $sum($states.input.items)} %}",
                    "Next": "Count",
                },
                "Count": {
                    "Type": "Pass",
                    "Output": "{% $merge([$states.input, {'n': $n}]) %}",
                    "End": True,
                },
            },
        }
    )
    result = sfn.start_sync_execution(stateMachineArn=machine, input='{"items": [1, 2, 3.5]}')
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"total": 6.5, "n": 3}
