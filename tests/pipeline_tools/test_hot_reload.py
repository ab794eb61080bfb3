"""Hot reload under a running stack: a handler edited in the (copied) code folder answers the
next invocation, after one printed line; a layer change reaches every function using it; a
template change says what to do. Through the watcher's own thread, as `make up` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_tools.hot_reload import HotReloader, watch_list

ROOT = Path(__file__).resolve().parents[2]
# appended to the handler module: the same handler, one key more in its answer
RELOADED = """

_loaded_handler = lambda_handler


def lambda_handler(event, context):
    return {**_loaded_handler(event, context), "reloaded": 1}
"""
EVENT = (ROOT / "events" / "pipe" / "valid_transaction.json").read_text()


@pytest.fixture
def watcher(copied_stack):
    """(reloader running in its thread, the lines it printed)."""
    lines: list[str] = []
    reloader = HotReloader(
        copied_stack.client("lambda"),
        watch_list(copied_stack.runner.deployed),
        log=lines.append,
        poll_s=0.2,
    ).start()
    yield reloader, lines
    reloader.stop()


def invoke(stack, logical_id: str) -> dict:
    response = stack.client("lambda").invoke(FunctionName=stack.ref(logical_id), Payload=EVENT)
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def cold_starts(stack, logical_id: str) -> int:
    name = stack.ref(logical_id)
    return sum(r.cold for r in stack.runner.aws.lambdas.invocations if r.function == name)


def test_an_edited_handler_answers_the_next_invocation(copied_stack, watcher, wait_for):
    stack, (_, lines) = copied_stack, watcher
    handler = Path(stack.root, "lambdas/validate/app.py")
    original = handler.read_text()
    assert "reloaded" not in invoke(stack, "ValidateFunction")
    colds = cold_starts(stack, "ValidateFunction")
    try:
        handler.write_text(original + RELOADED)
        line = wait_for("the reload line", lambda: [x for x in lines if "app.py" in x])
        assert line == [
            f"[reload] {stack.ref('ValidateFunction')}: {handler} changed; next invocation "
            "cold-starts on it"
        ]
        assert invoke(stack, "ValidateFunction")["reloaded"] == 1
        assert cold_starts(stack, "ValidateFunction") == colds + 1
    finally:
        handler.write_text(original)
        wait_for("the revert reloaded", lambda: len([x for x in lines if "app.py" in x]) == 2)
    assert "reloaded" not in invoke(stack, "ValidateFunction")


def test_a_layer_change_reaches_every_function_using_it(copied_stack, watcher, wait_for):
    stack, (_, lines) = copied_stack, watcher
    invoke(stack, "ValidateFunction")
    colds = cold_starts(stack, "ValidateFunction")
    module = Path(stack.root, "lambdas/common/pipeline_common/clock.py")
    module.write_text(module.read_text() + "\n# touched by test_hot_reload\n")
    [line] = wait_for("the layer line", lambda: [x for x in lines if "layer" in x])
    for logical_id in ("ValidateFunction", "CheckIdempotencyFunction", "SaveFunction"):
        assert stack.ref(logical_id) in line
    invoke(stack, "ValidateFunction")
    assert cold_starts(stack, "ValidateFunction") == colds + 1


def test_a_template_change_says_what_to_do(copied_stack, watcher, wait_for):
    stack, (_, lines) = copied_stack, watcher
    template = Path(stack.root, "template.yaml")
    template.write_text(template.read_text() + "\n# touched by test_hot_reload\n")
    [line] = wait_for("the template line", lambda: [x for x in lines if "template.yaml" in x])
    assert "not applied in place" in line and "start it again to redeploy" in line
