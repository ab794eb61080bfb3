"""On the local stack: no payload value reaches any log line by default, and every DLQ message
carries its reason attributes.

A stack with the template's defaults (ExecutionLogLevel=ERROR, LogPayloads=false) processes a
valid message, its duplicate, the same message_id with another body, invalid messages and a
message whose first execution fails on injected DynamoDB PutItem errors (so there are error logs
in the functions *and* execution logs in the state machine's log group). Each payload carries
values found nowhere else; afterwards every log event of every log group of the local AWS is
scanned for them.
"""

from __future__ import annotations

import json
import uuid

import pytest
from secret_samples import invalid_sample_names, secret_sample

from local_aws.pipes.emulator import PipeOptions
from local_aws.stack import StackRunner
from pipeline_tools.contract import TEMPLATE_PATH
from pipeline_tools.observer import StackObserver

# Under xdist, the module's tests stay on one worker: they share its stack and scenario.
pytestmark = pytest.mark.xdist_group("security_stack")


@pytest.fixture(scope="module")
def stack(local_stack):
    suffix = uuid.uuid4().hex[:6]
    runner = StackRunner(
        local_stack,
        TEMPLATE_PATH,
        stack_name=f"security-{suffix}",
        parameter_overrides={"MetricsNamespace": f"Security{suffix}"},
        pipe_options=PipeOptions(redelivery_delay_s=1),
    ).start()
    yield runner
    runner.stop()


def _secret(kind: str) -> str:
    return f"{kind}-secret-{uuid.uuid4().hex[:12]}"


def _body(secrets: dict[str, str], message_id: str | None = None, amount: float = 12.34) -> dict:
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "timestamp": "2026-01-01T09:59:58.123Z",
        "source": "security-test",
        "type": "transaction_created",
        "dlq_retry": 0,
        "payload": {
            "transaction_id": secrets["transaction"],
            "payer_id": secrets["payer"],
            "receiver_id": secrets["receiver"],
            "amount": amount,
            "currency": "EUR",
            "description": secrets["description"],
        },
    }


@pytest.fixture(scope="module")
def scenario(stack, local_stack):
    observer = StackObserver.for_stack(stack.deployed)
    group = f"security-{uuid.uuid4().hex[:6]}"
    secrets = {k: _secret(k) for k in ("transaction", "payer", "receiver", "description")}
    amount, other_amount = 8137.29, 6254.71  # appear nowhere else either
    valid = _body(secrets, amount=amount)
    invalid_type = _body({**secrets, "payer": secrets["payer"]}, amount=amount)
    invalid_type["payload"]["currency"] = 978  # wrong type
    invalid_missing = _body(secrets, amount=amount)
    del invalid_missing["payload"]["receiver_id"]
    malformed = json.dumps(_body(secrets, amount=amount))[:-3]
    mismatch = _body(secrets, message_id=valid["message_id"], amount=other_amount)
    bodies = [
        json.dumps(valid),
        json.dumps(valid),  # duplicate (another dedup id)
        json.dumps(mismatch),
        json.dumps(invalid_type),
        json.dumps(invalid_missing),
        malformed,
    ]
    sent = [observer.send(text, group) for text in bodies]
    outcomes = observer.wait_until_terminal(sent, timeout=90)
    # A message whose first execution fails (Save: 3 invocations x 3 SDK attempts): error logs.
    local_stack.faults.clear()
    local_stack.faults.add("dynamodb", "PutItem", "InternalServerError", count=9)
    try:
        failing = observer.send(json.dumps(_body(secrets, amount=amount)), group)
        outcomes += observer.wait_until_terminal([failing], timeout=90)
    finally:
        local_stack.faults.clear()
    # Every invalid sample of events/bodies, a secret in each rejected value (own groups: they
    # are processed side by side).
    samples = [secret_sample(name) for name in invalid_sample_names()]
    sample_sent = [observer.send(s.body, f"{group}-{i}") for i, s in enumerate(samples)]
    sample_outcomes = observer.wait_until_terminal(sample_sent, timeout=90)
    values = [*secrets.values(), str(amount), str(other_amount)]
    values += [secret for sample in samples for secret in sample.secrets]
    return outcomes, values, stack, list(zip(samples, sample_outcomes, strict=True))


def _log_events(logs) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            messages = out.setdefault(name, [])
            kwargs = {"logGroupName": name}
            while True:
                response = logs.filter_log_events(**kwargs)
                messages += [e["message"] for e in response["events"]]
                if not response.get("nextToken"):
                    break
                kwargs["nextToken"] = response["nextToken"]
    return out


def test_outcomes_are_as_expected(scenario):
    outcomes, *_ = scenario
    kinds = [(o.kind, o.reason) for o in outcomes]
    assert kinds == [
        ("stored", None),
        ("duplicate", None),
        ("quarantined", "PayloadMismatch"),
        ("quarantined", "InvalidMessage"),
        ("quarantined", "InvalidMessage"),
        ("quarantined", "InvalidMessage"),
        ("stored", None),
    ]
    assert any(a.status == "FAILED" for a in outcomes[-1].attempts), "no failed execution"


def test_no_payload_value_in_any_log_line(scenario, local_stack):
    _, values, stack, _ = scenario
    events = _log_events(local_stack.client("logs"))
    stack_groups = {
        name: lines for name, lines in events.items() if lines and stack.stack_name in name
    }
    # Not vacuous: the four functions and the state machine (ERROR level) wrote logs.
    assert len([n for n in stack_groups if n.startswith("/aws/lambda/")]) == 4, sorted(events)
    assert any(n.startswith("/aws/vendedlogs/states/") for n in stack_groups), sorted(events)
    leaks = [
        (name, value, line[:200])
        for name, lines in events.items()
        for line in lines
        for value in values
        if value in line
    ]
    assert not leaks, leaks


def test_execution_logs_at_error_level_carry_no_execution_data(scenario, local_stack):
    _, _, stack, _ = scenario
    events = _log_events(local_stack.client("logs"))
    [(_name, lines)] = [
        (n, lines)
        for n, lines in events.items()
        if n.startswith("/aws/vendedlogs/states/") and stack.stack_name in n
    ]
    entries = [json.loads(line) for line in lines]
    assert "ExecutionFailed" in {e["type"] for e in entries}
    for entry in entries:
        assert "Succeeded" not in entry["type"], entry  # ERROR: failures only
        details = entry.get("details") or {}
        assert not details.get("input") and not details.get("output"), entry


def test_dlq_messages_carry_the_reason_attributes(scenario):
    outcomes, values, *_ = scenario
    quarantined = [o for o in outcomes if o.kind == "quarantined"]
    assert len(quarantined) == 4
    for outcome in quarantined:
        attrs = outcome.dlq_message["MessageAttributes"]
        assert set(attrs) >= {"reason", "reason_detail", "source_message_id", "execution_id"}
        assert attrs["reason"]["StringValue"] in ("InvalidMessage", "PayloadMismatch")
        assert attrs["reason_detail"]["StringValue"]
        assert attrs["source_message_id"]["StringValue"] == outcome.message.sqs_message_id
        assert ":express:" in attrs["execution_id"]["StringValue"]  # an Express execution ARN
        # The reason says what is wrong without quoting the values.
        assert not [v for v in values if v in attrs["reason_detail"]["StringValue"]]
        assert outcome.dlq_message["Body"] == outcome.message.body


def test_no_secret_of_an_invalid_sample_in_its_dlq_attributes(scenario):
    *_, samples = scenario
    for sample, outcome in samples:
        assert (outcome.kind, outcome.reason) == ("quarantined", "InvalidMessage"), sample.name
        attributes = json.dumps(outcome.dlq_message["MessageAttributes"], ensure_ascii=False)
        assert "reason_detail" in attributes, sample.name
        assert [s for s in sample.secrets if s in attributes] == [], sample.name


def test_the_scan_sees_payloads_when_logging_them_is_turned_on(local_stack):
    """Positive control: with ExecutionLogLevel=ALL (so IncludeExecutionData) and LogPayloads=true
    the same scan finds the values, in the execution logs and in the functions' logs."""
    suffix = uuid.uuid4().hex[:6]
    runner = StackRunner(
        local_stack,
        TEMPLATE_PATH,
        stack_name=f"security-all-{suffix}",
        parameter_overrides={
            "MetricsNamespace": f"SecurityAll{suffix}",
            "ExecutionLogLevel": "ALL",
            "LogPayloads": "true",
        },
        pipe_options=PipeOptions(redelivery_delay_s=1),
    ).start()
    try:
        observer = StackObserver.for_stack(runner.deployed)
        secrets = {k: _secret(k) for k in ("transaction", "payer", "receiver", "description")}
        sent = observer.send(json.dumps(_body(secrets)), f"security-all-{suffix}")
        [outcome] = observer.wait_until_terminal([sent], timeout=60)
        assert outcome.kind == "stored"
    finally:
        runner.stop()
    events = _log_events(local_stack.client("logs"))
    found = {name for name, lines in events.items() for line in lines if secrets["payer"] in line}
    assert any(name.startswith("/aws/vendedlogs/states/") for name in found), found
    assert any(name.startswith("/aws/lambda/") for name in found), found
