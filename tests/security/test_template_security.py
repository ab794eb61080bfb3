"""template.yaml: IAM least privilege and encryption at rest, read from the template itself.

Every IAM statement of the stack (function and state machine `Policies`, the pipe role, any
AWS::IAM::Policy/ManagedPolicy/Role) is collected and checked:
- no wildcard action (`*`, `sqs:*`, `dynamodb:Get*`...), no NotAction/NotResource, no Deny needed;
- `Resource: "*"` only for the actions AWS gives no resource-level permissions to, each listed in
  WILDCARD_RESOURCE_ACTIONS with the reason; `cloudwatch:PutMetricData` additionally only under
  a `cloudwatch:namespace` condition equal to the stack's MetricsNamespace;
- SAM policy templates: only `LambdaInvokePolicy` (it expands to `function:<name>*`: the
  qualified ARNs `name:version`/`name:alias` that lambda:InvokeFunction may be called with),
  each naming one of the stack's own functions;
- no managed policy ARNs in the template (SAM still attaches AWSLambdaBasicExecutionRole and, with
  Tracing: Active, AWSXrayWriteOnlyAccess to each function role: AWS-managed, documented).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]

# Actions without resource-level permissions (AWS Service Authorization Reference), and why.
WILDCARD_RESOURCE_ACTIONS = {
    "cloudwatch:PutMetricData": "no resource type; limited by the cloudwatch:namespace condition",
    "logs:CreateLogDelivery": "Step Functions vended-logs delivery",
    "logs:GetLogDelivery": "Step Functions vended-logs delivery",
    "logs:UpdateLogDelivery": "Step Functions vended-logs delivery",
    "logs:DeleteLogDelivery": "Step Functions vended-logs delivery",
    "logs:ListLogDeliveries": "Step Functions vended-logs delivery",
    "logs:PutResourcePolicy": "Step Functions vended-logs delivery",
    "logs:DescribeResourcePolicies": "Step Functions vended-logs delivery",
    "logs:DescribeLogGroups": "Step Functions vended-logs delivery",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
}
ALLOWED_SAM_POLICY_TEMPLATES = {"LambdaInvokePolicy"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    template, matches = decode_str((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert not matches, matches
    return template["Resources"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner logical id, statement) for every inline IAM statement in the template."""
    found = []
    for lid, resource in resources.items():
        props = resource.get("Properties") or {}
        rtype = resource["Type"]
        if rtype in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for policy in _as_list(props.get("Policies") or []):
                if isinstance(policy, dict) and "Statement" in policy:
                    found += [(lid, s) for s in _as_list(policy["Statement"])]
        elif rtype == "AWS::IAM::Role":
            for policy in props.get("Policies") or []:
                found += [(lid, s) for s in _as_list(policy["PolicyDocument"]["Statement"])]
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found += [(lid, s) for s in _as_list(props["PolicyDocument"]["Statement"])]
    return found


def test_the_template_has_iam_statements(resources):
    owners = {owner for owner, _ in statements(resources)}
    assert {
        "CheckIdempotencyFunction",
        "SaveFunction",
        "DeleteFunction",
        "PipelineStateMachine",
        "MessagesPipeRole",
    } <= owners


def test_no_wildcard_actions_and_no_negations(resources):
    for owner, statement in statements(resources):
        assert statement.get("Effect") == "Allow", (owner, statement)
        assert "NotAction" not in statement and "NotResource" not in statement, owner
        for action in _as_list(statement["Action"]):
            assert isinstance(action, str) and "*" not in action, (owner, action)
            assert ":" in action, (owner, action)


def test_wildcard_resources_only_where_aws_requires_them(resources):
    for owner, statement in statements(resources):
        if "*" not in _as_list(statement["Resource"]):
            continue
        assert _as_list(statement["Resource"]) == ["*"], (owner, statement)
        for action in _as_list(statement["Action"]):
            assert action in WILDCARD_RESOURCE_ACTIONS, (
                f"{owner}: {action} on Resource '*' (only {sorted(WILDCARD_RESOURCE_ACTIONS)})"
            )


def test_put_metric_data_is_limited_to_the_stack_namespace(resources):
    seen = 0
    for owner, statement in statements(resources):
        if "cloudwatch:PutMetricData" in _as_list(statement["Action"]):
            seen += 1
            assert _as_list(statement["Action"]) == ["cloudwatch:PutMetricData"], owner
            assert statement.get("Condition") == {
                "StringEquals": {"cloudwatch:namespace": {"Ref": "MetricsNamespace"}}
            }, owner
    assert seen == 1


def test_every_other_resource_is_one_of_the_stacks_own(resources):
    for owner, statement in statements(resources):
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                continue
            assert isinstance(resource, dict), (owner, resource)
            ((function, args),) = resource.items()
            target = args[0] if function == "Fn::GetAtt" else args
            assert function in ("Fn::GetAtt", "Ref") and target in resources, (owner, resource)


def test_sam_policy_templates_are_only_lambda_invoke_of_own_functions(resources):
    for lid, resource in resources.items():
        if not resource["Type"].startswith("AWS::Serverless::"):
            continue
        for policy in _as_list((resource.get("Properties") or {}).get("Policies") or []):
            assert not isinstance(policy, str), f"{lid}: managed/named policy {policy}"
            if "Statement" in policy:
                continue
            ((name, args),) = policy.items()
            assert name in ALLOWED_SAM_POLICY_TEMPLATES, (lid, name)
            assert args["FunctionName"]["Ref"] in resources, (lid, args)
            assert resources[args["FunctionName"]["Ref"]]["Type"] == "AWS::Serverless::Function"


def test_no_managed_policies_or_admin_roles(resources):
    for lid, resource in resources.items():
        props = resource.get("Properties") or {}
        assert "ManagedPolicyArns" not in props, lid
        assert "PermissionsBoundary" not in props or props["PermissionsBoundary"], lid


def test_roles_are_assumable_only_by_their_service(resources):
    for lid, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            principal = statement["Principal"]
            assert set(principal) == {"Service"}, (lid, principal)
            assert "*" not in str(principal["Service"]), lid
            assert statement.get("Condition"), f"{lid}: confused-deputy condition missing"


# -- encryption at rest -----------------------------------------------------------------------


@pytest.mark.parametrize("queue", ["MessagesQueue", "MessagesDeadLetterQueue"])
def test_queues_are_encrypted_at_rest(resources, queue):
    props = resources[queue]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), queue
    assert props.get("SqsManagedSseEnabled") is not False or props.get("KmsMasterKeyId")


def test_table_is_encrypted_at_rest(resources):
    props = resources["MessagesTable"]["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_every_queue_and_table_of_the_stack_is_covered(resources):
    queues = [lid for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"]
    tables = [lid for lid, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"]
    assert sorted(queues) == ["MessagesDeadLetterQueue", "MessagesQueue"]
    assert tables == ["MessagesTable"]
