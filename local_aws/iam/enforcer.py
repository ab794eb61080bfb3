"""Authorise every request signed with a role's temporary credentials before it runs.

`IamEnforcer.check` is the gateway's one hook: requests signed with other credentials (the
user's CLI, boto3 in tests and tools) return None at once and keep full access. For a role
session it finds the role (moto's STS knows which session a key belongs to), reads the role's
inline and attached policies from moto's IAM, evaluates the request (`requests.describe` ->
`policy.evaluate`) and answers a denial with the service's own AccessDenied error in its own
wire protocol (`core.errors`, the one serializer of AWS errors), so boto3 raises the
ClientError it raises on AWS. Allowed requests are counted per statement for the
least-privilege report (`usage`).

Evaluated: the role's identity-based policies (inline + managed). Not evaluated (docs/iam.md):
resource-based policies, permission boundaries, session policies, SCPs/RCPs, signatures.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from functools import lru_cache
from typing import Any

from local_aws.core.errors import ApiError, Response, api_error_response
from local_aws.core.requests import RequestInfo
from local_aws.iam import credentials, policy, task_errors
from local_aws.iam.requests import (
    UNAUTHORISED_OPERATIONS,
    AuthzRequest,
    Endpoint,
    decode_params,
    describe,
)

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
# (error code, HTTP status) of each service's access-denied error.
_DENIED = {
    "sqs": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403),
    "lambda": ("AccessDeniedException", 403),
    "xray": ("AccessDeniedException", 403),
}
_DEFAULT_DENIED = ("AccessDeniedException", 400)  # DynamoDB, Step Functions, Logs (awsJson)


@lru_cache(maxsize=1024)
def _document(text: str) -> dict[str, Any]:
    return json.loads(text)


class RoleSession:
    def __init__(self, role_name: str, role_arn: str, session_name: str, account_id: str):
        self.role_name = role_name
        self.role_arn = role_arn
        self.arn = f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


class IamEnforcer:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.endpoint = Endpoint(region, account_id)
        self.enabled = credentials.enabled()
        if self.enabled:
            task_errors.apply()  # a denied Task fails with the error name AWS gives it
        self._sessions: dict[str, RoleSession | None] = {}
        self._lock = threading.Lock()
        # (role name, policy name, statement index, action, resource) -> allowed calls
        self.usage: Counter[tuple[str, str, int, str, str]] = Counter()
        self.denied: Counter[tuple[str, str, str]] = Counter()  # (role, action, resource)
        # Cost of enforcement (read by `make bench`): decisions made, thread CPU seconds spent.
        self.checks = 0
        self.check_cpu_s = 0.0

    # -- the gateway hook ------------------------------------------------------------------
    def check(self, environ: dict[str, Any], info: RequestInfo, read_body) -> Response | None:
        """None: let the request run. Otherwise the AccessDenied response to send."""
        if not self.enabled:
            return None
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        session = self.session(match.group(1)) if match else None
        if session is None or info.service is None or info.operation is None:
            return None
        if (info.service, info.operation) in UNAUTHORISED_OPERATIONS:
            return None
        started = time.thread_time()
        params = decode_params(info.protocol, read_body(environ))
        request = describe(
            info.service, info.operation, params, environ.get("PATH_INFO", ""), self.endpoint
        )
        decision = self.decide(session, request)
        self._count(started)
        if decision.allowed:
            return None
        code, status = _DENIED.get(info.service, _DEFAULT_DENIED)
        message = denial_message(session.arn, request, decision, info.service)
        return api_error_response(ApiError(code, message, status), info)

    # -- sessions and decisions ------------------------------------------------------------
    def session(self, access_key_id: str) -> RoleSession | None:
        """The role session an access key belongs to (None: not temporary role credentials)."""
        with self._lock:
            if access_key_id in self._sessions:
                return self._sessions[access_key_id]
        from moto.sts.models import sts_backends

        for assumed in list(sts_backends[self.account_id]["aws"].assumed_roles):
            if assumed.access_key_id == access_key_id:
                role_name = assumed.role_arn.split("/")[-1]
                found = RoleSession(
                    role_name, assumed.role_arn, assumed.session_name, self.account_id
                )
                with self._lock:
                    self._sessions[access_key_id] = found
                return found
        with self._lock:  # keys are random: one never seen in STS is not a role session
            self._sessions[access_key_id] = None
        return None

    def policies(self, role_name: str) -> list[policy.Policy]:
        """The role's identity-based policies as they are now in moto's IAM."""
        from moto.iam.exceptions import NotFoundException
        from moto.iam.models import iam_backends

        try:
            role = iam_backends[self.account_id]["aws"].get_role(role_name)
        except NotFoundException:
            # A deleted role's sessions keep their keys until they expire, but "permissions
            # assigned to temporary security credentials are evaluated each time they are used":
            # with no policy left, every request is implicitly denied (IAM User Guide,
            # id_credentials_temp_control-access_disable-perms.html). Seen when a stack is
            # deleted while its pipe's last poll is still in flight.
            return []
        found = [
            policy.Policy(f"inline:{name}", _document(text)) for name, text in role.policies.items()
        ]
        for arn, managed in role.managed_policies.items():
            version = next(v for v in managed.versions if v.is_default)
            found.append(policy.Policy(arn, _document(version.document)))
        return found

    def _count(self, started: float) -> None:
        with self._lock:
            self.checks += 1
            self.check_cpu_s += time.thread_time() - started

    def decide(self, session: RoleSession, request: AuthzRequest) -> policy.Decision:
        try:
            decision = policy.evaluate(
                self.policies(session.role_name),
                request.action,
                request.resource,
                request.context,
            )
        except policy.UnsupportedCondition:
            # Fail closed: a condition this evaluator cannot decide never allows.
            decision = policy.Decision(policy.IMPLICIT_DENY)
        with self._lock:
            if decision.allowed:
                for ref in decision.allowed_by:
                    key = (session.role_name, ref.policy, ref.index, request.action)
                    self.usage[(*key, request.resource)] += 1
            else:
                self.denied[(session.role_name, request.action, request.resource)] += 1
        return decision

    def allows(self, role_arn: str | None, service: str, operation: str, params, path: str) -> bool:
        """For calls answered in process (the interpreter's Lambda Invoke): would the HTTP
        request be allowed? True when enforcement is off or there is no role."""
        if not self.enabled or not role_arn:
            return True
        role_name = role_arn.split("/")[-1]
        session = RoleSession(role_name, role_arn, "in-process", self.account_id)
        started = time.thread_time()
        request = describe(service, operation, params, path, self.endpoint)
        allowed = self.decide(session, request).allowed
        self._count(started)
        return allowed


def denial_message(
    principal: str, request: AuthzRequest, decision: policy.Decision, service: str
) -> str:
    """AWS's message shape for an identity-based denial (SQS writes its action in lower case)."""
    action = request.action.lower() if service == "sqs" else request.action
    on = f" on resource: {request.resource}" if request.resource != "*" else ""
    if decision.effect == policy.EXPLICIT_DENY:
        why = "with an explicit deny in an identity-based policy"
    else:
        why = f"because no identity-based policy allows the {action} action"
    return f"User: {principal} is not authorized to perform: {action}{on} {why}"
