"""Helpers shared by the unit tests: paths, the app loader, sample events, stdout parsing,
an in-memory X-Ray emitter. Fixtures using them are in conftest.py.

The four functions are all called app.py and read their environment at import. `load_function`
executes lambdas/<function>/app.py under a unique module name (the functions' folders and the
layer, lambdas/common, are on sys.path through pytest's `pythonpath` in pyproject.toml, as the
Lambda runtime puts them there), so each test gets a freshly imported handler (after it has set
the environment) and the four app modules never collide in sys.modules. Their logic modules have
distinct names: message_validation, idempotency_check, message_store, queue_delete.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import itertools
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_xray_sdk.core import xray_recorder
from pipeline_common import message as message_codec

REPO = Path(__file__).resolve().parents[2]
LAMBDAS = REPO / "lambdas"
LAYER = LAMBDAS / "common"
FUNCTIONS = ("validate", "check_idempotency", "save", "delete")
EVENTS = REPO / "events"
# The keys of a pipe SQS record, in the order EventBridge Pipes writes them (docs/contract.md).
RECORD_KEYS = (
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
)
REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE_NAME = "unit-test-messages"
NAMESPACE = "UnitTest/Pipeline"
QUEUE_NAME = "sqs-fifo-pipeline-messages.fifo"  # the queue of events/pipe/*.json

_module_ids = itertools.count()


def template_resource(logical_id: str) -> dict[str, Any]:
    """The Properties of one resource of template.yaml (its names and schemas, not a copy)."""
    return copy.deepcopy(_template()["Resources"][logical_id]["Properties"])


@functools.cache
def _template() -> dict[str, Any]:
    # Decoded once per test process: the `table` fixture of every unit test asks for it.
    from cfnlint.decode import decode

    template, matches = decode(str(REPO / "template.yaml"))
    assert template is not None, matches
    return template


def load_function(function: str) -> ModuleType:
    """Import lambdas/<function>/app.py afresh under a unique module name."""
    path = LAMBDAS / function / "app.py"
    spec = importlib.util.spec_from_file_location(
        f"lambda_app_{function}_{next(_module_ids)}", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- events ------------------------------------------------------------------------------------


def body_text(name: str) -> str:
    """events/bodies/<name> exactly."""
    return (EVENTS / "bodies" / name).read_text(encoding="utf-8")


def pipe_event(name: str) -> list[dict[str, Any]]:
    """events/pipe/<name>.json: a JSON array of SQS records."""
    return json.loads((EVENTS / "pipe" / f"{name}.json").read_text(encoding="utf-8"))


def sqs_record(name: str) -> dict[str, Any]:
    """The only record of events/pipe/<name>.json."""
    (record,) = pipe_event(name)
    return copy.deepcopy(record)


def work_item(record_or_name: dict[str, Any] | str, execution: str = "exec-1") -> dict[str, Any]:
    """A record as CheckIdempotency/Save/Delete get it: the raw record plus `validated`."""
    record = sqs_record(record_or_name) if isinstance(record_or_name, str) else record_or_name
    message, sha = message_codec.fingerprint(record["body"])
    return {
        **record,
        "validated": {
            "message_id": message["message_id"],
            "type": message["type"],
            "body_sha256": sha,
            "execution_id": (
                "arn:aws:states:us-east-1:123456789012:express:PipelineStateMachine:"
                f"{execution}:{execution}"
            ),
        },
    }


def with_body(record: dict[str, Any], body: str) -> dict[str, Any]:
    return {**copy.deepcopy(record), "body": body}


# -- stdout: log lines and EMF lines ----------------------------------------------------------

LOG_KEYS = {
    "trace_id",
    "action",
    "status",
    "details",
    "timestamp",
    "function",
    "sqs_message_id",
    "message_group_id",
    "xray_trace_id",
}
TIMESTAMP_PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def stdout_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every stdout line so far, each parsed as JSON (a non-JSON line fails the test)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def split_lines(lines: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(log lines, EMF lines)."""
    return [x for x in lines if "_aws" not in x], [x for x in lines if "_aws" in x]


def emf_metrics(emf_lines: list[dict[str, Any]]) -> list[str]:
    return [
        metric["Name"]
        for line in emf_lines
        for directive in line["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]


# -- X-Ray ---------------------------------------------------------------------------------------


class MemoryEmitter:
    """Collects what the recorder would send to the X-Ray daemon."""

    def __init__(self) -> None:
        self.entities: list[Any] = []

    def send_entity(self, entity: Any) -> None:
        self.entities.append(entity)

    def set_daemon_address(self, address: str) -> None:
        pass


class XRayCapture:
    def __init__(self, emitter: MemoryEmitter) -> None:
        self.emitter = emitter

    def segment(self, name: str = "unit-test"):
        return xray_recorder.in_segment(name, sampling=1)

    def subsegments(self) -> list[Any]:
        """Every subsegment sent, depth-first."""
        found: list[Any] = []
        stack = list(reversed(self.emitter.entities))
        while stack:
            entity = stack.pop()
            if entity.__class__.__name__ == "Subsegment":
                found.append(entity)
            stack.extend(reversed(list(entity.subsegments)))
        return found

    def named(self, name: str) -> list[Any]:
        return [s for s in self.subsegments() if s.name == name]
