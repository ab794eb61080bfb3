"""The one boto3 client factory for a local endpoint.

The endpoint accepts any credentials, so clients sign with a fixed dummy pair. Host prefixes are
never injected: Step Functions' StartSyncExecution would otherwise send its request to
`sync-127.0.0.1`. Each caller passes the botocore Config options it needs (its retry policy,
timeouts, pool size): those differ on purpose, e.g. the pipe emulator's StartSyncExecution must
not retry, because the pipe's retry is the redelivery.

Clients come from one process-wide session: a new boto3 session parses botocore's endpoint and
service JSON again (profiled: a third of the test suite's CPU went there). A session is not
thread-safe, so client creation holds a lock; the clients it makes are thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

from local_aws import config as settings

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

_shared_session: boto3.session.Session | None = None
_shared_lock = threading.Lock()


def _session() -> boto3.session.Session:
    """The process-wide session (call with `_shared_lock` held)."""
    global _shared_session
    if _shared_session is None:
        _shared_session = boto3.session.Session()
    return _shared_session


def client(
    service: str,
    endpoint_url: str | None = None,
    *,
    region: str | None = None,
    config: Config | None = None,
    credentials: Mapping[str, str] | None = None,
    **config_options: Any,
) -> Any:
    """A boto3 client for `service` on `endpoint_url` (default: config.endpoint_url()).

    `config_options` are botocore Config arguments (retries, read_timeout, ...); `config` is
    merged on top of them.
    """
    merged = Config(**{"inject_host_prefix": False, **config_options})
    # `credentials`: boto3 credential arguments of a role session (local_aws.iam.credentials);
    # by default the dummy pair, which has full access.
    if config is not None:
        merged = merged.merge(config)
    arguments = {
        "endpoint_url": endpoint_url or settings.endpoint_url(),
        "region_name": region or settings.DEFAULT_REGION,
        "config": merged,
        **(credentials or LOCAL_CREDENTIALS),
    }
    with _shared_lock:
        return _session().client(service, **arguments)
