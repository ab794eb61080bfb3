"""The pipeline under IAM enforcement (on by default): each principal calls with its own role
from template.yaml, so a call the deployed role would deny fails here too."""

from __future__ import annotations


def denials(local_stack, role: str, action: str) -> int:
    return sum(n for (r, a, _), n in local_stack.iam.denied.items() if (r, a) == (role, action))


def test_the_happy_path_needs_no_permission_the_template_does_not_grant(
    local_stack, send_and_wait, new_body, group
):
    before = sum(local_stack.iam.denied.values())
    [outcome] = send_and_wait([(new_body("valid_transaction.json"), group)])
    assert outcome.kind == "stored"
    assert sum(local_stack.iam.denied.values()) == before, dict(local_stack.iam.denied)


def test_saves_lost_race_without_the_stored_item_never_reads_the_table(
    pipeline, local_stack, send_and_wait, new_body, group, faults
):
    """The audit's finding: an endpoint answering ConditionalCheckFailed without the old item
    (here an injected fault, which carries none) sent Save to a dynamodb:GetItem fallback that
    SaveFunction's role (dynamodb:PutItem only) denies. DynamoDB returns the item with
    ReturnValuesOnConditionCheckFailure=ALL_OLD, so the fallback is gone: Save fails the attempt,
    the workflow retries it and the message is stored once."""
    role = pipeline.deployed.ref("SaveFunctionRole")
    before = denials(local_stack, role, "dynamodb:GetItem")
    rule = faults.add("dynamodb", "PutItem", "ConditionalCheckFailedException", count=1)
    [outcome] = send_and_wait([(new_body("valid_transaction.json"), group)])
    assert rule.injected == 1
    assert denials(local_stack, role, "dynamodb:GetItem") == before
    assert outcome.kind == "stored"
    assert outcome.attempts[-1].task_attempts["Save"] == 2
