"""Temporary credentials of a role, from STS AssumeRole on the endpoint (moto's STS).

The principals of a deployed stack call with their own role's credentials, as on AWS: each
Lambda worker gets its function role's in its environment (session name: the function name, as
Lambda does), the pipe emulator its pipe role's, the Step Functions interpreter its state
machine role's. `LOCAL_AWS_IAM=off` turns this off together with enforcement (every principal
then calls with the endpoint's full-access credentials, as before).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from local_aws import clients

# Any other credentials (the user's CLI, boto3 in tests and tools) have full access.
FULL_ACCESS = clients.LOCAL_CREDENTIALS


def enabled() -> bool:
    """IAM enforcement (and role credentials) on? LOCAL_AWS_IAM=off turns both off."""
    return os.environ.get("LOCAL_AWS_IAM", "on").strip().lower() not in ("off", "0", "false")


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def as_environment(self) -> dict[str, str]:
        """What Lambda puts in a function's environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def as_client_args(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


_cache: dict[tuple[str, str, str], RoleCredentials] = {}
_lock = threading.Lock()


def role_exists(role_arn: str) -> bool:
    """Is the role in the endpoint's IAM? (Read in process: callers run next to moto.)"""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6:
        return False
    name = role_arn.rsplit("/", 1)[-1]
    return any(role.name == name for role in iam_backends[parts[4]]["aws"].roles.values())


def assume_role(
    endpoint_url: str, region: str, role_arn: str, session_name: str
) -> RoleCredentials | None:
    """AssumeRole on the endpoint, once per (endpoint, role, session name); None when the role
    is not in the endpoint's IAM (an ad-hoc resource with a made-up role ARN, which AWS would
    refuse at creation: it keeps full access locally, see docs/iam.md).

    moto's STS does not expire sessions, so one set serves a stack's lifetime; the role's
    trust policy is checked when the stack is deployed (`local_aws.iam.trust`)."""
    if not role_exists(role_arn):
        return None
    key = (endpoint_url, role_arn, session_name)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    sts = clients.client("sts", endpoint_url, region=region)
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])["Credentials"]
    credentials = RoleCredentials(
        issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
    )
    with _lock:
        _cache[key] = credentials
    return credentials


def client_args(
    endpoint_url: str, region: str, role_arn: str | None, session_name: str
) -> dict[str, str]:
    """boto3 client keyword arguments: the role's credentials, or full access."""
    session = assume_role(endpoint_url, region, role_arn, session_name) if role_arn else None
    if session is not None and enabled():
        return session.as_client_args()
    return dict(FULL_ACCESS)
