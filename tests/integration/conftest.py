"""The real template, ASL and Lambdas on the session's LocalAWS, with the pipe running.

Helpers read outcomes only through AWS APIs (pipeline_tools/observer.py): DynamoDB items, the
DLQ, execution histories and CloudWatch metric sums; never the emulator's internals.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest

from local_aws.pipes.emulator import PipeOptions
from local_aws.stack import StackRunner
from pipeline_tools.contract import METRIC_NAMES, STACK_NAME, TEMPLATE_PATH
from pipeline_tools.observer import Outcome, StackObserver

ROOT = Path(__file__).resolve().parents[2]
BODIES = ROOT / "events" / "bodies"
REDELIVERY_DELAY_S = 1  # the local stack's short redelivery delay (AWS: the visibility timeout)


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


_deployed: list[tuple[object, StackRunner]] = []  # (LocalAWS, runner) for the IAM report


@pytest.fixture(scope="session")
def pipeline(local_stack):
    """template.yaml deployed once per session (default parameters), its pipe running."""
    runner = StackRunner(
        local_stack,
        TEMPLATE_PATH,
        stack_name=STACK_NAME,
        pipe_options=PipeOptions(redelivery_delay_s=REDELIVERY_DELAY_S),
    ).start()
    _deployed.append((local_stack, runner))
    yield runner
    runner.stop()


def pytest_terminal_summary(terminalreporter):
    """The least-privilege report of the stack's roles over everything the suite ran."""
    if not _deployed:
        return
    from local_aws.iam.report import render

    aws, runner = _deployed[0]
    stack = runner.deployed
    roles = [stack.ref(lid) for lid in stack.logical_ids("AWS::IAM::Role")]
    text = render(aws.iam, roles)
    out = ROOT / "artifacts" / "iam" / "least-privilege.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    terminalreporter.write_sep("-", f"IAM least-privilege report ({out.relative_to(ROOT)})")
    terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def observer(pipeline) -> StackObserver:
    return StackObserver.for_stack(pipeline.deployed)


@pytest.fixture
def faults(local_stack):
    """LocalAWS's fault injector, emptied after the test."""
    local_stack.faults.clear()
    yield local_stack.faults
    local_stack.faults.clear()


@pytest.fixture
def group(request) -> str:
    """A message group of this test alone."""
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:6]}".replace("[", "-").replace("]", "")


# ---------------------------------------------------------------------- messages


def _body(name: str, message_id: str | None = None, **payload_changes) -> str:
    data = json.loads((BODIES / name).read_text())
    data["message_id"] = message_id or str(uuid.uuid4())
    data.get("payload", {}).update(payload_changes)
    return json.dumps(data)


@pytest.fixture(scope="session")
def new_body():
    """new_body(name, message_id=None, **payload_changes): a body from events/bodies with a
    fresh message_id (the session shares one table), optionally with payload fields changed."""
    return _body


@pytest.fixture
def raw_body():
    """raw_body(name): a body from events/bodies exactly as committed."""
    return lambda name: (BODIES / name).read_text()


def body_sha256(text: str) -> str:
    """docs/contract.md: SHA-256 of the canonical JSON of the parsed body without dlq_retry."""
    content = {k: v for k, v in json.loads(text).items() if k != "dlq_retry"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.fixture
def sha256_of_body():
    return body_sha256


@pytest.fixture
def send_and_wait(observer):
    """send_and_wait([(body, group), ...], timeout=60): send in order, wait until every message
    is terminal, return their Outcomes (same order)."""

    def run(messages: Iterable[tuple[str, str]], *, timeout: float = 60.0) -> list[Outcome]:
        sent = [observer.send(text, group) for text, group in messages]
        return observer.wait_until_terminal(sent, timeout=timeout)

    return run


# ---------------------------------------------------------------------- metrics


class MetricDelta:
    """CloudWatch sums of the pipeline's metrics, relative to when the test started."""

    def __init__(self, observer: StackObserver) -> None:
        self.observer = observer
        self.before = observer.metric_sums()

    def now(self) -> dict[str, float]:
        after = self.observer.metric_sums()
        return {name: after[name] - self.before[name] for name in METRIC_NAMES}

    def expected(self, **changes: float) -> dict[str, float]:
        return {name: float(changes.get(name, 0)) for name in METRIC_NAMES}


@pytest.fixture
def metrics(observer) -> MetricDelta:
    """metrics.now() == metrics.expected(MessagesSaved=1, ...): sums since the test started."""
    return MetricDelta(observer)


# ---------------------------------------------------------------------- executions


@pytest.fixture
def execution_input(observer):
    """execution_input(arn): the JSON array the pipe gave that execution (DescribeExecution)."""
    return lambda arn: json.loads(observer.sfn.describe_execution(executionArn=arn)["input"])
