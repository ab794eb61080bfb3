"""The one boto3 client factory for a local endpoint.

The endpoint accepts any credentials, so clients sign with a fixed dummy pair. Host prefixes are
never injected: Step Functions' StartSyncExecution would otherwise send its request to
`sync-127.0.0.1`. Each caller passes the botocore Config options it needs (its retry policy,
timeouts, pool size): those differ on purpose, e.g. the pipe emulator's StartSyncExecution must
not retry, because the pipe's retry is the redelivery.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from local_aws import config as settings

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def client(
    service: str,
    endpoint_url: str | None = None,
    *,
    region: str | None = None,
    session: boto3.session.Session | None = None,
    config: Config | None = None,
    **config_options: Any,
) -> Any:
    """A boto3 client for `service` on `endpoint_url` (default: config.endpoint_url()).

    `config_options` are botocore Config arguments (retries, read_timeout, ...); `config` is
    merged on top of them. A new session is used unless one is passed (sessions are not
    thread-safe, clients are).
    """
    merged = Config(**{"inject_host_prefix": False, **config_options})
    if config is not None:
        merged = merged.merge(config)
    return (session or boto3.session.Session()).client(
        service,
        endpoint_url=endpoint_url or settings.endpoint_url(),
        region_name=region or settings.DEFAULT_REGION,
        config=merged,
        **LOCAL_CREDENTIALS,
    )
