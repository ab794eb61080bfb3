"""Every test case of statemachine/test/MockConfigFile.json on AWS Step Functions Local (Docker).

Run with `make test-sfn-local` (docker compose up -d, these tests, docker compose down), or
against a Step Functions Local you started yourself: `SFN_LOCAL_ENDPOINT` (default
http://localhost:8083). `make test` does not collect this folder; the same scenario table runs
there on the local stack without Docker (tests/mock_config/).

The state machine is created from statemachine/pipeline.asl.json with its substitutions filled
in; each scenario runs with StartExecution on `<stateMachineArn>#<TestCaseName>` (Step Functions
Local has no StartSyncExecution), DescribeExecution is polled against a hard deadline, and the
state path comes from GetExecutionHistory. The machine is created as STANDARD here: AWS keeps no
history for Express executions, and the path assertions need it.

The only skip: no Step Functions Local reachable at the endpoint (no Docker engine, or the
container is not running); the reason says which. With `SFN_LOCAL_REQUIRED=1` (set by
`make test-sfn-local`) an unreachable endpoint is a failure instead, after waiting up to
`SFN_LOCAL_WAIT_SECONDS` (default 0) for the container to start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from mock_scenarios import SCENARIOS, check, ensure_state_machine, run

from pipeline_tools.mock_config import MOCK_CONFIG_PATH, load

ENDPOINT = os.environ.get("SFN_LOCAL_ENDPOINT", "http://localhost:8083")
REGION = "us-east-1"  # Step Functions Local's defaults (docker-compose.yml sets them too)
ACCOUNT_ID = "123456789012"
# A scenario's longest real wait: 3 attempts with retry waits of at most 1 s and 2 s (FULL jitter),
# twice for MetricFailureKeepsSaveError. Anything beyond this is a stuck execution.
DEADLINE_S = 60


def _client():
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=2, read_timeout=20, retries={"max_attempts": 1}),
    )


def _docker_state() -> str:
    if shutil.which("docker") is None:
        return "no Docker engine: the `docker` command is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker engine reachable (`docker info`: {exc})"
    if info.returncode != 0:
        return "no Docker engine reachable (`docker info` failed; is the daemon running?)"
    return "Docker is running, but the container is not up (`docker compose up -d`)"


def _unreachable() -> str | None:
    """None when Step Functions Local answers at ENDPOINT, else why not."""
    wait = float(os.environ.get("SFN_LOCAL_WAIT_SECONDS", "0"))
    deadline = time.monotonic() + wait
    while True:
        try:
            _client().list_state_machines(maxResults=1)
            return None
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() >= deadline:
                return (
                    f"no Step Functions Local reachable at {ENDPOINT} ({type(exc).__name__}); "
                    f"{_docker_state()}"
                )
            time.sleep(1)


@pytest.fixture(scope="module")
def sfn_local():
    reason = _unreachable()
    if reason is not None:
        if os.environ.get("SFN_LOCAL_REQUIRED") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return _client()


@pytest.fixture(scope="module")
def pipeline(sfn_local):
    try:
        return ensure_state_machine(sfn_local, "STANDARD", REGION, ACCOUNT_ID)
    except ClientError as exc:  # e.g. an ASL field this Step Functions Local predates
        pytest.fail(f"Step Functions Local refused the definition: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def mock_config():
    return load(MOCK_CONFIG_PATH)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(sfn_local, pipeline, mock_config, scenario):
    result = run(sfn_local, pipeline, scenario, deadline_s=DEADLINE_S, poll_s=0.2)
    check(scenario, result, mock_config)
