"""`runs dlq …` against the copied stack (tests/pipeline_tools/conftest.py), in-process."""

from __future__ import annotations

import json

import pytest

from pipeline_tools import cli
from pipeline_tools.runs.reader import RunReader


@pytest.fixture
def dlq(copied_stack, capsys):
    """dlq("list", "--json") -> (exit code, stdout) of `runs dlq …` on the copied stack; dlq.err:
    the last command's stderr."""
    stack = copied_stack

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = cli.main(
            [
                "runs",
                "--endpoint",
                stack.runner.aws.endpoint_url,
                "--state-machine",
                stack.ref("PipelineStateMachine"),
                "dlq",
                "--dlq-url",
                stack.ref("MessagesDeadLetterQueue"),
                "--queue-url",
                stack.ref("MessagesQueue"),
                "--table",
                stack.ref("MessagesTable"),
                *args,
            ]
        )
        captured = capsys.readouterr()
        run.err = captured.err
        return code, captured.out

    run.err = ""
    return run


@pytest.fixture
def letters(dlq):
    """letters(): the DLQ as `runs dlq list --json` reports it."""

    def listed() -> list[dict]:
        code, out = dlq("list", "--json")
        assert code == 0, out
        return json.loads(out)["messages"]

    return listed


@pytest.fixture
def runs_of(copied_stack):
    """runs_of(key): the runs of a message_id or SQS message id (oldest first)."""
    stack = copied_stack
    reader = RunReader.for_endpoint(
        stack.runner.aws.endpoint_url, state_machine_arn=stack.ref("PipelineStateMachine")
    )
    return lambda key: [r for r in reader.find_runs(key) if r.outcome != "running"]
