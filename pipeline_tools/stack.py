"""`python -m pipeline_tools up | run`: the local endpoint with template.yaml deployed.

python -m pipeline_tools up  [--port 4577] [--parameter BatchSize=5 ...]  # run until Ctrl-C
python -m pipeline_tools run [--port 4577]                               # the demo (make run)

`up` also mounts the pipeline's web console on the endpoint (pipeline_tools/console/).
"""

from __future__ import annotations

import argparse
import errno
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from local_aws import config as settings
from local_aws.pipes.emulator import BatchResult
from pipeline_tools import console
from pipeline_tools.contract import STACK_NAME, TEMPLATE_PATH


def _configure_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=None, help="default: $LOCAL_AWS_PORT or 4577 (0: any free port)"
    )
    parser.add_argument("--template", default=str(TEMPLATE_PATH), help="default: template.yaml")
    parser.add_argument("--stack-name", default=STACK_NAME)
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override (repeatable), e.g. BatchSize=5",
    )
    parser.add_argument(
        "--redelivery-delay",
        default=settings.redelivery_delay() or "2",
        help="seconds before a failed batch is redelivered (default 2; 'aws' = the queue's "
        "VisibilityTimeout, as in AWS)",
    )


def _overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--parameter expects NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def _start(args: argparse.Namespace, *, on_batch=None, quiet_deploy: bool = False):
    from local_aws.server import LocalAWS
    from local_aws.stack import StackRunner, pipe_options_from_env

    port = args.port if args.port is not None else settings.port()
    aws = LocalAWS(port=port)
    try:
        aws.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or args.command == "up":
            raise SystemExit(f"cannot listen on port {port}: {exc.strerror}") from exc
        print(f"port {port} is busy (is `make up` running?): using a free port instead")
        aws = LocalAWS(port=0).start()
    print(f"local AWS listening on {aws.endpoint_url}")
    delay = str(args.redelivery_delay)
    options = pipe_options_from_env(
        redelivery_delay_s=None if delay.lower() == "aws" else int(delay)
    )
    started = time.monotonic()
    print(f"deploying {_relative(args.template)} as stack {args.stack_name}")
    runner = StackRunner(
        aws,
        args.template,
        stack_name=args.stack_name,
        parameter_overrides=_overrides(args.parameter),
        pipe_options=options,
        on_batch=on_batch,
        log=None if quiet_deploy else (lambda line: print(f"  {line}")),
    )
    try:
        runner.start()
    except BaseException:
        aws.stop()
        raise
    print(f"deployed in {time.monotonic() - started:.1f} s; pipe running")
    return aws, runner


def _relative(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------- up


def up(args: argparse.Namespace) -> int:
    def on_batch(result: BatchResult) -> None:
        groups = ",".join(result.groups) or "-"
        print(
            f"[pipe] {len(result.message_ids)} message(s), group {groups}: {result.status} "
            f"in {result.seconds:.2f} s" + (f" ({result.error})" if result.error else ""),
            flush=True,
        )

    aws, runner = _start(args, on_batch=on_batch)
    console.attach(aws)
    print(usage_text(aws.endpoint_url, runner.deployed), flush=True)
    from pipeline_tools.hot_reload import start_for_stack

    reloader = start_for_stack(aws.client("lambda"), runner.deployed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nstopping...", flush=True)
    reloader.stop()
    runner.stop()
    aws.stop()
    return 0


def usage_text(endpoint: str, stack: Any) -> str:
    queue = stack.outputs.get("QueueUrl") or stack.ref("MessagesQueue")
    dlq = stack.outputs.get("DeadLetterQueueUrl") or stack.ref("MessagesDeadLetterQueue")
    table = stack.outputs.get("TableName") or stack.ref("MessagesTable")
    machine = stack.outputs.get("StateMachineArn") or stack.ref("PipelineStateMachine")
    namespace = stack.parameters.get("MetricsNamespace", "")
    aws = f"aws --endpoint-url {endpoint}"
    outputs = "\n".join(f"  {k:20} {v}" for k, v in stack.outputs.items())
    q = shlex.quote
    python = _relative(sys.executable)
    return f"""
Stack outputs:
{outputs}

Inspect each message's run (states, inputs/outputs, errors, metrics, logs, X-Ray trace):
  web console  {endpoint}/_local_aws/console/
  {python} -m pipeline_tools runs --endpoint {endpoint} list        # then: runs show <message id>
  {python} -m pipeline_tools runs --endpoint {endpoint} dlq list    # why each DLQ message is there
  {python} -m pipeline_tools runs --endpoint {endpoint} dlq redrive --reason InvalidMessage

AWS CLI (any credentials work; paste in this folder):
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION={stack.region}
  {aws} cloudformation describe-stacks --stack-name {q(stack.stack_name)} \
      --query 'Stacks[0].Outputs'
  {aws} sqs send-message --queue-url {q(queue)} \\
      --message-group-id payer-1 --message-deduplication-id "$(date +%s%N)" \\
      --message-body file://events/bodies/valid_transaction.json
  {aws} dynamodb scan --table-name {q(table)}
  {aws} stepfunctions list-executions --state-machine-arn {q(machine)}
  {aws} stepfunctions get-execution-history --execution-arn <executionArn from the list>
  {aws} sqs receive-message --queue-url {q(dlq)} \\
      --message-attribute-names All --visibility-timeout 0
  {aws} cloudwatch get-metric-statistics --namespace {q(namespace)} --metric-name MessagesSaved \\
      --statistics Sum --period 60 --start-time $(date -u -d '-1 hour' +%FT%TZ) \\
      --end-time $(date -u -d '+1 hour' +%FT%TZ)
  AWS_ENDPOINT_URL={endpoint} make verify-deployed STACK={q(stack.stack_name)} CLEANUP=1
  {python} -m local_aws faults --endpoint {endpoint} add --service dynamodb \\
      --operation PutItem --error InternalServerError --count 3    # then: faults list | clear

boto3:
  import boto3
  from botocore.config import Config
  session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local",
                          region_name="{stack.region}")
  sqs = session.client("sqs", endpoint_url="{endpoint}")
  sqs.send_message(QueueUrl="{queue}",
                   MessageBody=open("events/bodies/valid_transaction.json").read(),
                   MessageGroupId="payer-1", MessageDeduplicationId="1")
  # StartSyncExecution uses a `sync-` host prefix: turn it off for a local endpoint
  # (AWS CLI: export AWS_DISABLE_HOST_PREFIX_INJECTION=true)
  sfn = session.client("stepfunctions", endpoint_url="{endpoint}",
                       config=Config(inject_host_prefix=False))
  sfn.list_executions(stateMachineArn="{machine}")

Running until Ctrl-C; each pipe batch is logged below.
"""


# ---------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    from pipeline_tools.demo import run_demo

    started = time.monotonic()
    aws, runner = _start(args)
    try:
        code = run_demo(aws, runner)
    finally:
        runner.stop()
        aws.stop()
    print(f"(wall time {time.monotonic() - started:.1f} s)")
    return code


def configure_up(parser: argparse.ArgumentParser) -> None:
    parser.description = "Deploy template.yaml and keep the stack running (make up)."
    _configure_common(parser)


def configure_run(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the demo end to end and print the report (make run)."
    _configure_common(parser)
