"""`python -m pipeline_tools runs …` and local X-Ray on the real pipeline (integration conftest).

Everything the command prints comes from the endpoint's AWS APIs, as from another terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from console_scenario import Scenario, build

from pipeline_tools import cli

ROOT = Path(__file__).resolve().parents[2]
DUPLICATE_PATH = ["Validate", "CheckIdempotency", "IsDuplicate", "Delete"]


@pytest.fixture(scope="module")
def scenario(pipeline, observer) -> Scenario:
    return build(pipeline, observer)


@pytest.fixture
def runs(scenario, capsys):
    """runs("list", "--outcome", "duplicate") -> (exit code, stdout) of the in-process CLI."""

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(
            ["runs", "--endpoint", scenario.endpoint, "--state-machine",
             scenario.state_machine_arn, *args]
        )  # fmt: skip
        return code, capsys.readouterr().out

    return run


def _row(output: str, needle: str) -> list[str]:
    return [line for line in output.splitlines() if needle in line]


def test_list_shows_every_kind_of_run_newest_first(scenario, runs):
    code, out = runs("list", "--limit", "0")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:4] == ["STARTED", "(UTC)", "MESSAGE", "ID"]
    expected = [
        (scenario.saved, "saved"),
        (scenario.duplicate, "duplicate"),
        (scenario.invalid, "quarantined"),
        (scenario.failed, "failed"),
        (scenario.redelivered, "saved"),
    ]
    lines = out.splitlines()
    reader = scenario.reader()
    positions = []
    for run, outcome in expected:
        [line] = _row(out, run.execution_name)
        assert run.key in line and run.group in line and f" {outcome} " in line
        # the order `runs list` promises: by execution start (each run here has its own execution);
        # iteration starts of overlapping executions in two groups may swap
        started = reader.describe(run.execution_arn)["startDate"]
        positions.append((started, lines.index(line)))
    # newest first: a later execution start is printed higher up
    by_time = [index for _, index in sorted(positions, reverse=True)]
    assert by_time == sorted(by_time)
    [failed] = _row(out, scenario.failed.execution_name)
    assert "FAILED" in failed and "DynamoDBSaveError" in failed
    [invalid] = _row(out, scenario.invalid.execution_name)
    assert "InvalidMessage" in invalid  # the quarantine reason


def test_list_filters_by_outcome_status_and_group(scenario, runs):
    _, out = runs("list", "--outcome", "duplicate", "--limit", "0")
    rows = out.splitlines()[1:]
    assert rows and all(" duplicate " in row for row in rows)
    assert _row(out, scenario.duplicate.execution_name)

    _, out = runs("list", "--status", "failed", "--limit", "0")
    rows = out.splitlines()[1:]
    assert rows and all(" FAILED " in row for row in rows)
    assert _row(out, scenario.failed.execution_name)

    _, out = runs("list", "--group", scenario.groups["dup"])
    assert len(out.splitlines()) == 3  # header, the new message, its duplicate
    assert [r.split()[4] for r in out.splitlines()[1:]] == ["duplicate", "saved"]


def test_show_duplicate_run_timeline_metrics_logs_and_trace(scenario, runs):
    code, out = runs("show", scenario.duplicate.run_id, "--full")
    assert code == 0
    timeline = out.split("Timeline")[1].split("Metrics emitted")[0]
    states = re.findall(r"^  \+ *[0-9.]+ ms  (\w+)", timeline, re.MULTILINE)
    assert states == DUPLICATE_PATH  # Save not taken
    assert "· duplicate ·" in out

    metrics = out.split("Metrics emitted")[1].split("Lambda logs")[0]
    assert "DuplicateMessages" in metrics and "MessagesDeleted" in metrics
    assert "MessagesSaved" not in metrics
    assert "via EMF log line" in metrics

    logs = out.split("Lambda logs")[1].split("X-Ray segments")[0]
    message_id = scenario.duplicate.message_id
    assert f'"trace_id": "{message_id}"' in logs
    assert '"action": "message_skipped"' in logs
    for function in ("ValidateFunction", "CheckIdempotencyFunction", "DeleteFunction"):
        assert function in logs
    assert logs.count("START RequestId") == 3
    assert "SaveFunction" not in logs

    trace = out.split("X-Ray segments")[1]
    assert "AWS::StepFunctions::StateMachine" in trace
    assert trace.count("(AWS::Lambda::Function)") == 3
    assert "dynamodb  (aws GetItem)" in trace
    assert "sqs  (aws DeleteMessage)" in trace
    assert f"message_id={message_id}" in trace


def test_show_by_message_id_tells_its_runs_apart(scenario, runs):
    code, out = runs("show", scenario.saved.message_id)
    assert code == 0
    assert out.startswith(f"2 runs match {scenario.saved.message_id}")
    first, second = out.split("\nRun ")[1:]
    assert first.startswith(scenario.saved.run_id) and "· saved ·" in first
    assert second.startswith(scenario.duplicate.run_id) and "· duplicate ·" in second
    assert "Save " in first.split("Timeline")[1].split("Metrics")[0]
    # each run's logs are its own: the saved run's Save logs are not in the duplicate's
    assert "dynamodb_save" in first and "dynamodb_save" not in second


def test_show_failed_run_has_error_retries_catch_and_metric(scenario, runs):
    code, out = runs("show", scenario.failed.run_id)
    assert code == 0
    assert "result       FAILED · failed (DynamoDBSaveError)" in out
    assert "error        DynamoDBSaveError: " in out and "PutItem failed" in out
    timeline = out.split("Timeline")[1].split("Metrics emitted")[0]
    assert "CAUGHT DynamoDBSaveError → RecordDynamoDBSaveError  (2 retries)" in timeline
    assert timeline.count("FAILED DynamoDBSaveError") >= 3  # 3 attempts + the Fail state
    assert "FailDynamoDBSave" in timeline
    metrics = out.split("Metrics emitted")[1].split("Lambda logs")[0]
    assert "DynamoDBSaveError" in metrics and "PutMetricData (RecordDynamoDBSaveError)" in metrics
    logs = out.split("Lambda logs")[1].split("X-Ray segments")[0]
    assert logs.count("[ERROR] DynamoDBSaveError") == 3
    trace = out.split("X-Ray segments")[1]
    assert "[fault]" in trace and "execution_status=FAILED" in trace


def test_show_truncates_unless_full(scenario, runs):
    _, short = runs("show", scenario.invalid.run_id)
    _, full = runs("show", scenario.invalid.run_id, "--full")
    receipt = json.loads(
        next(line for line in full.splitlines() if line.strip().startswith("in   {")).split(
            "in   ", 1
        )[1]
    )["receiptHandle"]
    assert receipt in full and receipt not in short
    assert "…" in short
    assert "quarantined (InvalidMessage)" in short
    assert "CAUGHT InvalidMessage → QuarantineMessage" in short


def test_json_output(scenario, runs):
    _, out = runs("list", "--json", "--group", scenario.groups["invalid"])
    [run] = json.loads(out)
    assert run["outcome"] == "quarantined" and run["message_id"] is None
    assert run["sqs_message_id"] == scenario.invalid.sqs_message_id
    _, out = runs("show", scenario.invalid.run_id, "--json")
    [detail] = json.loads(out)
    assert [s["name"] for s in detail["steps"]][:2] == ["Validate", "QuarantineMessage"]
    assert detail["steps"][0]["status"] == "CAUGHT"
    assert {m["name"] for m in detail["metrics"]} == {"InvalidMessages", "MessagesDeleted"}


def test_command_line_from_another_process(scenario):
    env = {**os.environ, "LOCAL_AWS_ENDPOINT": scenario.endpoint}
    command = [sys.executable, "-m", "pipeline_tools", "runs"]
    done = subprocess.run(
        [*command, "list", "--group", scenario.groups["fail"]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line.split()[4] for line in done.stdout.splitlines()[1:]] == ["saved", "failed"]
    missing = subprocess.run(
        [*command, "show", "no-such-message"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 1 and "no run found for 'no-such-message'" in missing.stderr


def test_one_trace_per_message_run_through_the_xray_api(scenario, local_stack):
    """Validate/CheckIdempotency/Save/Delete of one run share the execution's trace, with the
    SDK's DynamoDB and SQS subsegments under the function segments (boto3 X-Ray API)."""
    xray = local_stack.client("xray")
    run = scenario.saved
    summaries = xray.get_trace_summaries(
        StartTime=run.started - 60,
        EndTime=run.stopped + 60,
        FilterExpression=f'annotation.message_id = "{run.message_id}"',
    )["TraceSummaries"]
    assert len(summaries) == 2  # the saved run and the duplicate's: one trace per execution
    detail = scenario.reader().detail(run)
    assert detail.trace_id in {s["Id"] for s in summaries}

    [trace] = xray.batch_get_traces(TraceIds=[detail.trace_id])["Traces"]
    documents = [json.loads(s["Document"]) for s in trace["Segments"]]
    functions = [d for d in documents if d.get("origin") == "AWS::Lambda::Function"]
    names = sorted(d["name"].split("-")[-2] for d in functions)
    assert names == ["CheckIdempotencyFunction", "DeleteFunction", "SaveFunction",
                     "ValidateFunction"]  # fmt: skip
    assert {d["trace_id"] for d in documents} == {detail.trace_id}

    def operations(entity):
        for sub in entity.get("subsegments", []):
            if sub.get("namespace") == "aws":
                yield sub["name"], sub["aws"]["operation"]
            yield from operations(sub)

    found = {op for d in functions for op in operations(d)}
    assert {("dynamodb", "GetItem"), ("dynamodb", "PutItem"), ("sqs", "DeleteMessage")} <= found
    [execution] = [d for d in documents if d.get("origin") == "AWS::StepFunctions::StateMachine"]
    lambdas = [d for d in documents if d.get("origin") == "AWS::Lambda"]
    state_ids = {s["id"] for s in _walk(execution)}
    assert all(d["parent_id"] in state_ids for d in lambdas)  # under their Task states

    # PutTraceSegments works too (an SDK outside Lambda, or a test, can add a segment)
    segment = {"id": "a" * 16, "trace_id": detail.trace_id, "name": "client",
               "start_time": run.started, "end_time": run.started + 0.001}  # fmt: skip
    response = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
    assert response["UnprocessedTraceSegments"] == []
    [trace] = xray.batch_get_traces(TraceIds=[detail.trace_id])["Traces"]
    assert "a" * 16 in {s["Id"] for s in trace["Segments"]}


def _walk(entity):
    yield entity
    for sub in entity.get("subsegments", []):
        yield from _walk(sub)
