"""`make verify-deployed` against the local stack: public APIs only (the endpoint through
AWS_ENDPOINT_URL, as on AWS through the SDK's configuration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
from boto3.dynamodb.conditions import Attr

ROOT = Path(__file__).resolve().parents[2]


def run(local_stack, *args):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": local_stack.endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": local_stack.region,
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "verify_deployed.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_verify_deployed_passes_on_the_local_stack_and_cleans_up_its_marked_messages(
    local_stack, pipeline
):
    stack_name = pipeline.deployed.stack_name
    done = run(local_stack, "--stack", stack_name, "--timeout", "120", "--cleanup")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for label in ("valid", "duplicate", "same id, other body", "invalid"):
        assert label in done.stdout
    assert "OK: all four messages reached the expected outcome" in done.stdout
    assert "cleanup: deleted 1 marked item(s) and 2 marked DLQ message(s)" in done.stdout

    ddb = boto3.resource(
        "dynamodb",
        endpoint_url=local_stack.endpoint_url,
        region_name=local_stack.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    marked = ddb.Table(pipeline.deployed.outputs["TableName"]).scan(
        FilterExpression=Attr("message_group_id").begins_with("verify-deployed-")
    )["Items"]
    assert marked == []
