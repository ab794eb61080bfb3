"""Policy mutation test: every action the template's roles grant is needed.

For each Allow statement and each action in it (inline policies of template.yaml, as the SAM
translator generates them, and the AWS managed policies it attaches), either
- removing the action makes a named scenario fail with AccessDenied for that role and action
  (the scenario is the one whose calls used the grant with the full policy), or
- the action is one the local stack never calls because it is needed only on AWS, with the
  reason recorded in AWS_ONLY (and the test checks that nothing used it locally).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from local_aws.cloudformation.sam import managed_policy_document
from local_aws.cloudformation.template import Template
from local_aws.iam.policy import as_list, matches

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# Actions granted for what AWS's services do on the role's behalf, which the local stack does
# itself (never signed with the role): pattern -> reason.
AWS_ONLY = {
    "logs:*": "Lambda's and Step Functions' log delivery: the local runtime and interpreter "
    "write logs into moto's CloudWatch Logs themselves",
    "xray:*": "trace segments go to the local X-Ray daemon over UDP (the AWS daemon signs "
    "PutTraceSegments with the function's or state machine's role)",
    "sqs:GetQueueAttributes": "Pipes reads the source queue's attributes on AWS; the pipe "
    "emulator reads what it needs once at start with the endpoint's credentials",
}
SCENARIOS = ("valid", "invalid")
BODY = {"valid": "valid_transaction.json", "invalid": "invalid_amount_zero.json"}


def template_grants() -> list[tuple[str, str, int, str]]:
    """(role logical id, policy name, statement index, action) of every Allow action."""
    template = Template(TEMPLATE, stack_name="iam-grants")
    found = []
    for lid in template.resources_of_type("AWS::IAM::Role"):
        props = template.raw_properties(lid)
        documents = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies", [])]
        documents += [
            (arn, managed_policy_document(arn)) for arn in props.get("ManagedPolicyArns", [])
        ]
        for name, document in documents:
            for index, statement in enumerate(as_list(document["Statement"])):
                if statement["Effect"] == "Allow":
                    found += [(lid, name, index, action) for action in as_list(statement["Action"])]
    return found


def aws_only_reason(action: str) -> str | None:
    return next(
        (why for pattern, why in AWS_ONLY.items() if matches(pattern, action, ignore_case=True)),
        None,
    )


@pytest.fixture(scope="module")
def group_name():
    counter = iter(range(10_000))
    return lambda label: f"iam-mutation-{label}-{next(counter)}-{time.time_ns() % 10**6}"


def expected_kind(scenario: str) -> str:
    return "stored" if scenario == "valid" else "quarantined"


def cold_start(local_stack, pipeline, role_arn: str | None = None) -> None:
    """Fresh (cold) environments for the functions (of one role): warm ones keep what their
    init fetched (the Delete function caches its queue URL), which a new deployment has not."""
    for spec in pipeline.deployed.functions.values():
        if role_arn is None or spec.role == role_arn:
            local_stack.lambdas.register(spec)


@pytest.fixture(scope="module")
def baseline(local_stack, pipeline, observer, new_body, group_name):
    """With the template's policies: {scenario: {(role, action) its calls used}}."""
    used: dict[str, set[tuple[str, str]]] = {}
    cold_start(local_stack, pipeline)
    for scenario in SCENARIOS:
        before = dict(local_stack.iam.usage)
        sent = observer.send(new_body(BODY[scenario]), group_name(scenario))
        [outcome] = observer.wait_until_terminal([sent], timeout=90)
        assert outcome.kind == expected_kind(scenario), outcome
        used[scenario] = {
            (key[0], key[3]) for key, n in local_stack.iam.usage.items() if n > before.get(key, 0)
        }
    return used


def denials(local_stack, role: str, action: str) -> int:
    return sum(n for (r, a, _), n in local_stack.iam.denied.items() if r == role and a == action)


def without_action(document: dict, index: int, action: str) -> dict:
    mutated = json.loads(json.dumps(document))
    statement = mutated["Statement"][index]
    kept = [a for a in as_list(statement["Action"]) if a != action]
    if kept:
        statement["Action"] = kept
    else:
        del mutated["Statement"][index]
    return mutated


GRANTS = template_grants()


@pytest.mark.parametrize(
    ("role_id", "policy", "index", "action"),
    GRANTS,
    ids=[f"{lid}-{name.rsplit('/', 1)[-1]}-{i}-{action}" for lid, name, i, action in GRANTS],
)
def test_each_granted_action_is_needed(
    role_id, policy, index, action, local_stack, pipeline, observer, baseline, new_body, group_name
):
    role = pipeline.deployed.ref(role_id)
    scenario = next(
        (
            s
            for s in SCENARIOS
            if any(r == role and matches(action, used, ignore_case=True) for r, used in baseline[s])
        ),
        None,
    )
    if scenario is None:
        assert aws_only_reason(action), (
            f"{role_id} grants {action} ({policy}#{index}), no scenario calls it locally and "
            "AWS_ONLY records no reason it is needed on AWS: remove it or record why"
        )
        return
    assert aws_only_reason(action) is None, f"{action} is listed as AWS-only but {scenario} used it"
    assert not policy.startswith("arn:"), f"{role_id} uses {action} from managed policy {policy}"
    iam = local_stack.client("iam")
    original = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    before = denials(local_stack, role, action)
    mutated = without_action(original, index, action)
    if mutated["Statement"]:
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(mutated))
    else:  # IAM refuses a policy without statements: the policy goes
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
    cold_start(local_stack, pipeline, pipeline.deployed.get_att(role_id, "Arn"))
    try:
        sent = observer.send(new_body(BODY[scenario]), group_name(scenario))
        deadline = time.monotonic() + 45
        while denials(local_stack, role, action) == before and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(original))
    assert denials(local_stack, role, action) > before, (
        f"scenario {scenario!r} ran with {action} removed from {role_id} ({policy}#{index}) "
        "and nothing was denied"
    )
    # With the policy restored the message is redelivered and reaches its outcome.
    [outcome] = observer.wait_until_terminal([sent], timeout=120)
    assert outcome.kind == expected_kind(scenario), outcome
