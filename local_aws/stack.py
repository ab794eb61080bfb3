"""template.yaml deployed on a LocalAWS with its pipes running.

    with LocalAWS(port=0) as aws, StackRunner(aws, "template.yaml", stack_name="demo") as runner:
        sqs = runner.client("sqs")
        ...

Used by the pipeline's tools (`python -m pipeline_tools up|run`), the integration tests, the
chaos run and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_aws import config as settings
from local_aws.cloudformation.deploy import DeployedStack, Log, deploy
from local_aws.pipes.emulator import BatchResult, PipeEmulator, PipeOptions


def pipe_options_from_env(**overrides: Any) -> PipeOptions:
    """PipeOptions with `LOCAL_AWS_REDELIVERY_DELAY` (seconds; `aws` = the queue's visibility
    timeout, as in AWS) and `LOCAL_AWS_PIPE_CONCURRENCY` applied."""
    options = PipeOptions()
    delay = settings.redelivery_delay()
    if delay:
        options.redelivery_delay_s = None if delay.lower() == "aws" else int(delay)
    concurrency = settings.pipe_concurrency()
    if concurrency:
        options.max_concurrency = concurrency
    for key, value in overrides.items():
        setattr(options, key, value)
    return options


class StackRunner:
    """Deploys a template on a started LocalAWS and runs an emulator for each of its pipes."""

    def __init__(
        self,
        aws: Any,
        template: str | Path,
        *,
        stack_name: str,
        parameter_overrides: Mapping[str, Any] | None = None,
        pipe_options: PipeOptions | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        log: Log | None = None,
    ) -> None:
        self.aws = aws
        self.template = template
        self.stack_name = stack_name
        self.parameter_overrides = dict(parameter_overrides or {})
        self.pipe_options = pipe_options or pipe_options_from_env()
        self.on_batch = on_batch
        self.log = log
        self.stack: DeployedStack | None = None
        self.pipes: dict[str, PipeEmulator] = {}

    def start(self) -> StackRunner:
        self.stack = deploy(
            self.aws,
            self.template,
            stack_name=self.stack_name,
            parameter_overrides=self.parameter_overrides,
            log=self.log,
        )
        for logical_id, definition in self.stack.pipes.items():
            if definition.ignored and self.log:
                self.log(f"pipe {logical_id}: not emulated: {', '.join(definition.ignored)}")
            self.pipes[logical_id] = PipeEmulator(
                definition, self.aws.endpoint_url, self.pipe_options, on_batch=self.on_batch
            ).start()
        return self

    def stop(self) -> None:
        for pipe in self.pipes.values():
            pipe.stop()

    def __enter__(self) -> StackRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def deployed(self) -> DeployedStack:
        if self.stack is None:
            raise RuntimeError("StackRunner.start() has not run")
        return self.stack

    def client(self, service: str, **config: Any):
        return self.deployed.client(service, **config)

    def counters(self) -> dict[str, dict[str, Any]]:
        return {lid: pipe.counters.snapshot() for lid, pipe in self.pipes.items()}
