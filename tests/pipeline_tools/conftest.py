"""A copy of the pipeline (template.yaml, lambdas/, statemachine/) in a temp folder, deployed on
the session's LocalAWS with its pipe running: tests may edit its code (loosen a schema, change a
handler) without touching the repository, and its DLQ is theirs alone (the integration tests'
observer drains the DLQ of the main stack)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_aws.pipes.emulator import PipeOptions
from local_aws.stack import StackRunner
from pipeline_tools.observer import StackObserver

ROOT = Path(__file__).resolve().parents[2]
BODIES = ROOT / "events" / "bodies"
COPIED = ("template.yaml", "lambdas", "statemachine")


@dataclass
class CopiedStack:
    root: Path
    runner: StackRunner
    observer: StackObserver  # for sending only: its outcomes() would drain the DLQ

    def ref(self, logical_id: str) -> Any:
        return self.runner.deployed.ref(logical_id)

    def client(self, service: str) -> Any:
        return self.runner.client(service)

    def item(self, message_id: str) -> dict[str, Any] | None:
        return self.observer.item(message_id)


@pytest.fixture(scope="session")
def copied_stack(local_stack, tmp_path_factory) -> CopiedStack:
    root = tmp_path_factory.mktemp("pipeline-copy")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".build")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    runner = StackRunner(
        local_stack,
        root / "template.yaml",
        stack_name=f"ops-{uuid.uuid4().hex[:6]}",
        # redelivered at once (the local stack's short delay is 1 s elsewhere): nothing here
        # depends on the delay, and the five-crash DLQ test waits 5 of them (12.3 s -> 7.7 s)
        pipe_options=PipeOptions(redelivery_delay_s=0),
    ).start()
    yield CopiedStack(root, runner, StackObserver.for_stack(runner.deployed))
    runner.stop()


@pytest.fixture
def new_body() -> Callable[..., str]:
    """new_body(name="valid_transaction.json", **top_level_changes): a fresh message_id."""

    def make(name: str = "valid_transaction.json", **changes: Any) -> str:
        data = json.loads((BODIES / name).read_text())
        data["message_id"] = str(uuid.uuid4())
        data.update(changes)
        return json.dumps(data)

    return make


@pytest.fixture
def group(request) -> str:
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """wait_for(what, check, timeout=90): the first truthy check(); TimeoutError naming `what`."""

    def wait(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"after {timeout} s still waiting for: {what}")
            time.sleep(0.3)

    return wait
