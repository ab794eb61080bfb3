"""Least-privilege report: every granted action x resource of some roles, with the calls that
used it while the endpoint ran (from `IamEnforcer.usage`); grants never used are listed apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from local_aws.iam.enforcer import IamEnforcer
from local_aws.iam.policy import as_list, matches


@dataclass(frozen=True)
class Grant:
    role: str
    policy: str
    statement: int
    action: str  # as written (may hold wildcards)
    resource: str


def grants(enforcer: IamEnforcer, role_names: list[str]) -> list[Grant]:
    """The Allow grants of the roles' identity-based policies, one per action x resource."""
    found = []
    for role in role_names:
        for policy in enforcer.policies(role):
            statements = policy.document.get("Statement", [])
            statements = [statements] if isinstance(statements, dict) else statements
            for index, statement in enumerate(statements):
                if statement.get("Effect") != "Allow":
                    continue
                for action in as_list(statement.get("Action", statement.get("NotAction"))):
                    for resource in as_list(
                        statement.get("Resource", statement.get("NotResource"))
                    ):
                        found.append(Grant(role, policy.name, index, action, resource))
    return found


def calls(enforcer: IamEnforcer, grant: Grant) -> int:
    return sum(
        count
        for (role, policy, index, action, resource), count in enforcer.usage.items()
        if (role, policy, index) == (grant.role, grant.policy, grant.statement)
        and matches(grant.action, action, ignore_case=True)
        and matches(grant.resource, resource)
    )


def render(enforcer: IamEnforcer, role_names: list[str]) -> str:
    rows = [(grant, calls(enforcer, grant)) for grant in grants(enforcer, role_names)]
    lines = ["least-privilege report: granted action x resource, calls that used it", ""]
    width = max((len(g.action) for g, _ in rows), default=10)
    for role in role_names:
        lines.append(role)
        for grant, count in rows:
            if grant.role == role:
                source = f"{grant.policy}#{grant.statement}"
                lines.append(f"  {count:>7}  {grant.action:<{width}}  {grant.resource}  ({source})")
    unused = [g for g, count in rows if count == 0]
    lines += ["", f"never used here ({len(unused)} of {len(rows)} grants):"]
    lines += [f"  {g.role}: {g.action} on {g.resource}" for g in unused]
    denied = sorted(enforcer.denied.items())
    if denied:
        lines += ["", "denied calls:"]
        lines += [f"  {n:>7}  {role}: {action} on {res}" for (role, action, res), n in denied]
    return "\n".join(lines)
