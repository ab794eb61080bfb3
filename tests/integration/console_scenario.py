"""The messages the inspection tests look at (`runs` CLI, web console, local X-Ray).

Sent once per session on the integration suite's `pipeline` (template.yaml on the session's
LocalAWS, pipe running): a new message, the same message again (a duplicate), a malformed body
(quarantined), and a message whose first execution fails because DynamoDB PutItem fails
(then stored on redelivery). Each gets its own message group.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_tools.runs.reader import RunReader, RunSummary

BODIES = Path(__file__).resolve().parents[2] / "events" / "bodies"
_built: dict[int, Scenario] = {}


@dataclass
class Scenario:
    endpoint: str
    state_machine_arn: str
    saved: RunSummary  # the first pass of message A: saved
    duplicate: RunSummary  # the second copy of message A: duplicate
    invalid: RunSummary  # a malformed body: quarantined
    failed: RunSummary  # message C's first execution: failed with DynamoDBSaveError
    redelivered: RunSummary  # message C on redelivery: saved
    groups: dict[str, str]

    def reader(self) -> RunReader:
        return RunReader.for_endpoint(self.endpoint, state_machine_arn=self.state_machine_arn)


def _body(message_id: str) -> str:
    data = json.loads((BODIES / "valid_transaction.json").read_text())
    data["message_id"] = message_id
    return json.dumps(data)


def _wait(predicate, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def build(pipeline: Any, observer: Any) -> Scenario:
    """Send the scenario's messages once per pipeline (memoised) and return their runs."""
    if id(pipeline) in _built:
        return _built[id(pipeline)]
    aws = pipeline.aws
    tag = uuid.uuid4().hex[:6]
    groups = {k: f"console-{k}-{tag}" for k in ("dup", "invalid", "fail")}
    message_a, message_c = str(uuid.uuid4()), str(uuid.uuid4())
    first = observer.send(_body(message_a), groups["dup"], label="new")
    second = observer.send(_body(message_a), groups["dup"], label="duplicate")
    invalid = observer.send((BODIES / "malformed_json.txt").read_text(), groups["invalid"])
    observer.wait_until_terminal([first, second, invalid], timeout=60)

    reader = RunReader.for_endpoint(aws.endpoint_url, state_machine_arn=observer.state_machine_arn)
    aws.faults.add("dynamodb", "PutItem", "InternalServerError")  # until the first run failed
    try:
        failing = observer.send(_body(message_c), groups["fail"], label="fails first")
        failed = _wait(
            lambda: [r for r in reader.find_runs(message_c) if r.status == "FAILED"],
            60,
            "the failed execution",
        )[0]
    finally:
        aws.faults.clear()
    observer.wait_until_terminal([failing], timeout=60)

    runs_a = reader.find_runs(message_a)
    scenario = Scenario(
        endpoint=aws.endpoint_url,
        state_machine_arn=observer.state_machine_arn,
        saved=next(r for r in runs_a if r.sqs_message_id == first.sqs_message_id),
        duplicate=next(r for r in runs_a if r.sqs_message_id == second.sqs_message_id),
        invalid=reader.find_runs(invalid.sqs_message_id)[0],
        failed=failed,
        redelivered=[r for r in reader.find_runs(message_c) if r.status == "SUCCEEDED"][-1],
        groups=groups,
    )
    _built[id(pipeline)] = scenario
    return scenario
