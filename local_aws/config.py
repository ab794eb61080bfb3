"""Every setting of the local endpoint: its defaults and the LOCAL_AWS_* environment variables.

Settings are read when asked for (not at import), so a test or a command can set the variable
before it starts a LocalAWS. Nothing else in local_aws reads LOCAL_AWS_* or restates a default.

    LOCAL_AWS_PORT                      port of `serve` / `up` / `run` (default 4577; 0 = free port)
    LOCAL_AWS_ENDPOINT                  where the command line tools find a running endpoint
    LOCAL_AWS_BUILD_DIR                 cache of installed function/layer requirements
    LOCAL_AWS_MAX_WORKERS_PER_FUNCTION  warm worker processes per function (default 4)
    LOCAL_AWS_LAMBDA_FORK_SERVER        0: start every Lambda worker with exec instead of forking
                                        it from a server that has imported boto3 (default 1)
    LOCAL_AWS_REDELIVERY_DELAY          seconds before a failed pipe batch is visible again
                                        (`aws`: the queue's VisibilityTimeout, as on AWS)
    LOCAL_AWS_PIPE_CONCURRENCY          batches a pipe emulator runs in parallel
    LOCAL_AWS_SFN_LOCAL_COMPAT          1: name aws-sdk Task events as Step Functions Local does
                                        (default: as AWS does; docs/stepfunctions.md)
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PORT = 4577
DEFAULT_HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
# The account id moto uses by default (and AWS's documentation examples).
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_MAX_WORKERS_PER_FUNCTION = 4

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _flag(name: str, default: bool) -> bool:
    """A yes/no variable: 1/true/yes or 0/false/no (any case); anything else: `default`."""
    value = (_env(name) or "").lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return default


def port() -> int:
    return int(_env("LOCAL_AWS_PORT") or DEFAULT_PORT)


def endpoint_url() -> str:
    """The endpoint a command line tool talks to when not told otherwise."""
    return _env("LOCAL_AWS_ENDPOINT") or f"http://{DEFAULT_HOST}:{port()}"


def build_dir() -> Path:
    return Path(_env("LOCAL_AWS_BUILD_DIR") or REPO_ROOT / ".build" / "deps")


def max_workers_per_function() -> int:
    return int(_env("LOCAL_AWS_MAX_WORKERS_PER_FUNCTION") or DEFAULT_MAX_WORKERS_PER_FUNCTION)


def lambda_fork_server() -> bool:
    return _flag("LOCAL_AWS_LAMBDA_FORK_SERVER", default=True)


def redelivery_delay() -> str | None:
    """The raw LOCAL_AWS_REDELIVERY_DELAY: seconds, `aws`, or None (unset)."""
    return _env("LOCAL_AWS_REDELIVERY_DELAY")


def pipe_concurrency() -> int | None:
    value = _env("LOCAL_AWS_PIPE_CONCURRENCY")
    return int(value) if value else None


def sfn_local_compat() -> bool:
    return _flag("LOCAL_AWS_SFN_LOCAL_COMPAT", default=False)
