"""The Docker-free Lambda runtime: warm workers, context, errors, timeouts, crashes, logs, EMF."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from pathlib import Path

import pytest

from local_aws.awslambda.cloudwatch import parse_emf


def invoke(stack, name, event=None, **kwargs):
    response = stack.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event or {}), **kwargs
    )
    return response, json.loads(response["Payload"].read())


def records_for(stack, request_id):
    return [r for r in stack.lambdas.invocations if r.request_id == request_id]


def log_messages(stack, name):
    logs = stack.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [event["message"] for event in events]


def test_worker_is_reused_and_first_call_is_cold(stack):
    first, body1 = invoke(stack, "echo", {"n": 1})
    second, body2 = invoke(stack, "echo", {"n": 2})
    assert "FunctionError" not in first and "FunctionError" not in second
    assert body1["event"] == {"n": 1} and body2["event"] == {"n": 2}
    assert body1["pid"] == body2["pid"]
    rec1 = records_for(stack, body1["request_id"])[0]
    rec2 = records_for(stack, body2["request_id"])[0]
    assert rec1.worker_pid == rec2.worker_pid == body1["pid"]
    assert rec2.cold is False and rec2.init_ms is None
    cold = [r for r in stack.lambdas.invocations if r.function == "echo" and r.cold]
    assert cold and cold[0].init_ms > 0
    assert rec2.billed_ms >= rec2.duration_ms and rec2.max_memory_mb > 0


def test_context_environment_and_isolated_sys_path(stack):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    _, body = invoke(stack, "echo")
    assert body["function_name"] == "echo"
    assert body["memory_limit_in_mb"] == "256"
    assert 0 < body["remaining_ms"] <= 3000
    assert body["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert body["log_group_name"] == "/aws/lambda/echo"
    assert body["endpoint"] == stack.endpoint_url
    assert body["region"] == "us-east-1"
    assert body["greeting"] == "hello"
    assert body["trace_id"].startswith("Root=1-") and ";Parent=" in body["trace_id"]
    assert body["sys_path"][0].endswith("functions/echo")
    assert not any("site-packages" in entry for entry in body["sys_path"])
    # a caller's trace root is kept; each invocation gets its own trace header
    lam = stack.client("lambda")

    def add_trace(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    lam.meta.events.register("before-sign.lambda.Invoke", add_trace)
    traced = json.loads(lam.invoke(FunctionName="echo", Payload=b"{}")["Payload"].read())
    assert traced["trace_id"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=")
    assert traced["trace_id"] != body["trace_id"]


def test_invoke_by_arn(stack):
    response, body = invoke(stack, "arn:aws:lambda:us-east-1:123456789012:function:echo")
    assert response["StatusCode"] == 200 and body["function_name"] == "echo"


def test_unknown_function_is_resource_not_found(stack):
    lam = stack.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_overlapping_invocations_start_more_workers(stack):
    bodies = []

    def call():
        bodies.append(invoke(stack, "sleeper", {"seconds": 0.2})[1])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bodies == [{"slept": True}, {"slept": True}]
    assert len(stack.lambdas.worker_pids("sleeper")) >= 2


def test_handler_exception_shape(stack):
    response, body = invoke(stack, "raiser", {"id": "m-1"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "DynamoDBSaveError"
    assert body["errorMessage"] == "could not save m-1"
    assert any("raise DynamoDBSaveError" in frame for frame in body["stackTrace"])
    assert records_for(stack, body["requestId"])[0].error_type == "DynamoDBSaveError"
    messages = log_messages(stack, "raiser")
    assert "about to fail" in messages
    assert any(m.startswith("[ERROR] DynamoDBSaveError: could not save m-1") for m in messages)


def test_timeout_kills_the_worker(stack):
    response, body = invoke(stack, "sleeper", {"seconds": 5})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 0.50 seconds")
    request_id = body["errorMessage"].split()[1]
    record = records_for(stack, request_id)[0]
    assert record.error_type == "Sandbox.Timedout"
    assert record.worker_pid not in stack.lambdas.worker_pids("sleeper")
    report = [
        m for m in log_messages(stack, "sleeper") if m.startswith(f"REPORT RequestId: {request_id}")
    ]
    assert "Status: timeout" in report[0]


def test_crash_is_runtime_exit_error(stack):
    response, body = invoke(stack, "crasher")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in body["errorMessage"]
    assert "crashing now" in log_messages(stack, "crasher")


def test_import_error_is_runtime_import_module_error(stack):
    response, body = invoke(stack, "broken_import")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == (
        "Unable to import module 'app': No module named 'requests_that_do_not_exist'"
    )


def test_logs_have_start_end_report_lines(stack):
    _, body = invoke(stack, "echo", {"log": True})
    request_id = body["request_id"]
    messages = log_messages(stack, "echo")
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert f"END RequestId: {request_id}" in messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {request_id}"))
    for field in ("Duration:", "Billed Duration:", "Memory Size: 256 MB", "Max Memory Used:"):
        assert field in report
    assert "echo called with ['log']" in messages
    cold_reports = [m for m in messages if m.startswith("REPORT") and "Init Duration:" in m]
    assert cold_reports  # the first invocation of each worker reports its init


def test_emf_lines_become_metrics(stack):
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    invoke(stack, "emf", {"namespace": namespace, "value": 2})
    invoke(stack, "emf", {"namespace": namespace, "value": 3})
    now = dt.datetime.now(dt.UTC)
    stats = stack.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName="MessagesSaved",
        StartTime=now - dt.timedelta(minutes=10),
        EndTime=now + dt.timedelta(minutes=10),
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 5
    assert {p["Unit"] for p in stats["Datapoints"]} == {"Count"}


def test_parse_emf_dimension_sets_and_value_lists():
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": 1700000000000,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "NS",
                        "Dimensions": [["Service"], ["Service", "Stage"]],
                        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
                    }
                ],
            },
            "Service": "save",
            "Stage": "dev",
            "Latency": [1, 2.5],
        }
    )
    [(namespace, data)] = parse_emf(line)
    assert namespace == "NS"
    assert [d["Dimensions"] for d in data] == [
        [{"Name": "Service", "Value": "save"}],
        [{"Name": "Service", "Value": "save"}, {"Name": "Stage", "Value": "dev"}],
    ]
    assert data[0]["Values"] == [1.0, 2.5] and data[0]["Unit"] == "Milliseconds"
    assert parse_emf('{"not": "emf"}') == [] and parse_emf("plain text") == []


def test_requirements_are_isolated(stack):
    """The function sees the runtime's boto3 (from .build), not the test venv's."""
    _, body = invoke(stack, "sdk_call", {"service": "sqs", "method": "list_queues"})
    assert body["error_code"] is None
    assert Path(body["boto3"]).parts[-4] == "deps"


def test_registered_functions_are_listed_by_the_lambda_api(stack):
    lam = stack.client("lambda")
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert {"echo", "raiser", "sleeper"} <= names
    config = lam.get_function(FunctionName="echo")["Configuration"]
    assert config["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert config["MemorySize"] == 256 and config["Environment"]["Variables"]["GREETING"] == "hello"


def test_event_invocation_and_log_tail(stack):
    lam = stack.client("lambda")
    queued = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": 1}')
    assert queued["StatusCode"] == 202
    tail = lam.invoke(FunctionName="echo", LogType="Tail", Payload=b"{}")
    text = base64.b64decode(tail["LogResult"]).decode()
    assert text.startswith("START RequestId:") and "REPORT RequestId:" in text


def test_warm_starts_workers_ahead_of_traffic(stack):
    stack.lambdas.warm("emf", 2)
    assert len(stack.lambdas.worker_pids("emf")) >= 2
    assert stack.lambdas.warm("emf", 2) == 0  # already there
