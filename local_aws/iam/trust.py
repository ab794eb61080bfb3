"""May a service assume a role? The deploy-time check CloudFormation's resource handlers make.

On AWS the service itself refuses a role it cannot assume when the resource is created, and
CloudFormation reports the handler's message; these are the messages of the three services a
SAM pipeline hands roles to (Lambda's CreateFunction, Step Functions' CreateStateMachine, the
Pipes resource handler). Conditions (e.g. `aws:SourceAccount`, `aws:SourceArn`) are evaluated
against the keys the service sends when it assumes the role.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from local_aws.iam.policy import as_list, conditions_hold, matches

_ASSUME = "sts:AssumeRole"
# service principal -> (API service name in the message, handler error code, message)
_REFUSALS = {
    "lambda.amazonaws.com": (
        "Lambda",
        "InvalidRequest",
        "The role defined for the function cannot be assumed by Lambda.",
    ),
    "states.amazonaws.com": (
        "Sfn",
        "AccessDenied",
        "Neither the global service principal states.amazonaws.com, nor the regional one is "
        "authorized to assume the provided role.",
    ),
}


def trust_policy(service_principal: str) -> dict[str, Any]:
    """The trust policy that lets one service assume a role."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": service_principal},
        "Action": _ASSUME,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


class RoleNotAssumable(Exception):
    """The resource's service may not assume its role (CloudFormation's handler message)."""


def can_assume(
    trust_policy: Mapping[str, Any],
    service_principal: str,
    context: Mapping[str, Sequence[str]],
    region: str,
) -> bool:
    """Trust policy evaluation for a service principal (global or regional form)."""
    principals = {
        service_principal,
        service_principal.replace(".amazonaws", f".{region}.amazonaws"),
    }
    allowed = False
    statements = trust_policy.get("Statement", [])
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        actions = statement.get("Action", [])
        if not any(matches(a, _ASSUME, ignore_case=True) for a in as_list(actions)):
            continue
        services = as_list((statement.get("Principal") or {}).get("Service"))
        if not principals & set(services) and statement.get("Principal") != "*":
            continue
        if not conditions_hold(statement.get("Condition") or {}, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def require_assumable(
    role: Mapping[str, Any],
    service_principal: str,
    *,
    region: str,
    account_id: str,
    source_arn: str | None = None,
    identifier: str = "",
) -> None:
    """Raise RoleNotAssumable with CloudFormation's message when the service may not."""
    context = {"aws:SourceAccount": [account_id]}
    if source_arn:
        context["aws:SourceArn"] = [source_arn]
    if can_assume(role["AssumeRolePolicyDocument"], service_principal, context, region):
        return
    request_id = uuid.uuid4()
    if service_principal in _REFUSALS:
        api, code, message = _REFUSALS[service_principal]
        raise RoleNotAssumable(
            f'Resource handler returned message: "{message} (Service: {api}, Status Code: 400, '
            f'Request ID: {request_id})" (HandlerErrorCode: {code})'
        )
    # The Pipes handler reports a refused role as the pipe's status reason (the resource then
    # "did not stabilize"); the exact reason text for an unassumable role is not documented.
    raise RoleNotAssumable(
        f"Resource handler returned message: \"Resource of type 'AWS::Pipes::Pipe' with "
        f"identifier '{identifier}' did not stabilize. Status Reason is Input parameter is "
        f"invalid from the request due to : {service_principal} cannot assume role "
        f'{role["Arn"]}" (HandlerErrorCode: NotStabilized)'
    )
