"""Unit-test fixtures: environment, moto, app loader, X-Ray (helpers in lambda_testkit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context
from lambda_testkit import (
    NAMESPACE,
    QUEUE_NAME,
    REGION,
    TABLE_NAME,
    MemoryEmitter,
    XRayCapture,
    load_function,
    template_resource,
)
from moto import mock_aws

# -- environment and AWS ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the template gives the functions, and no route to a real AWS account."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_PROFILE",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_SDK_ENABLED",
        "LAMBDA_TASK_ROOT",
        "_X_AMZN_TRACE_ID",
        "LOG_PAYLOADS",
        "IDEMPOTENCY_TTL_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def table(dynamodb: Any) -> str:
    """The template's MessagesTable (key schema, attributes, billing mode) under a test name."""
    properties = template_resource("MessagesTable")
    dynamodb.create_table(
        TableName=TABLE_NAME,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode=properties["BillingMode"],
    )
    return TABLE_NAME


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]


@pytest.fixture
def load_app(monkeypatch: pytest.MonkeyPatch):
    """load_app("save", IDEMPOTENCY_TTL_DAYS="7") -> a freshly imported app module."""

    def load(function: str, **env: str | None) -> ModuleType:
        for key, value in env.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, str(value))
        return load_function(function)

    return load


@pytest.fixture
def xray() -> Iterator[XRayCapture]:
    """An in-memory emitter and a fresh context; the test opens a segment with xray.segment()."""
    saved = (xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling)
    emitter = MemoryEmitter()
    xray_recorder.configure(emitter=emitter, context=Context(), sampling=False)
    xray_recorder.context.context_missing = "IGNORE_ERROR"
    try:
        yield XRayCapture(emitter)
    finally:
        xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling = saved
