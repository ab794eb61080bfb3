"""local_aws.iam.policy: AWS's evaluation logic for identity-based policies."""

from __future__ import annotations

import pytest

from local_aws.iam.policy import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Policy,
    UnsupportedCondition,
    evaluate,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/messages"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q.fifo"


def policy(*statements, name="p"):
    return Policy(name, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def effect(policies, action, resource="*", context=None):
    return evaluate(policies, action, resource, context).effect


def test_no_statement_is_an_implicit_deny():
    assert effect([policy(allow("dynamodb:PutItem", TABLE))], "dynamodb:GetItem", TABLE) == (
        IMPLICIT_DENY
    )


def test_allow_matches_action_case_insensitively_and_resource_exactly():
    policies = [policy(allow("DynamoDB:getitem", TABLE))]
    assert effect(policies, "dynamodb:GetItem", TABLE) == ALLOW
    assert effect(policies, "dynamodb:GetItem", TABLE.upper()) == IMPLICIT_DENY


def test_explicit_deny_wins_over_allow_in_another_policy():
    policies = [
        policy(allow("dynamodb:*", "*")),
        policy({"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}, name="d"),
    ]
    decision = evaluate(policies, "dynamodb:DeleteItem", TABLE)
    assert decision.effect == EXPLICIT_DENY
    assert [ref.policy for ref in decision.denied_by] == ["d"]
    assert effect(policies, "dynamodb:GetItem", TABLE) == ALLOW


def test_wildcards_star_and_question_mark_and_literal_dots():
    policies = [policy(allow("sqs:*Message", "arn:aws:sqs:us-east-1:123456789012:q.fif?"))]
    assert effect(policies, "sqs:SendMessage", QUEUE) == ALLOW
    assert effect(policies, "sqs:SendMessageBatch", QUEUE) == IMPLICIT_DENY
    # `.` is literal: "qXfifo" is not "q.fifo"
    assert effect(policies, "sqs:SendMessage", QUEUE.replace("q.", "qX")) == IMPLICIT_DENY


def test_not_action_and_not_resource():
    policies = [policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "NotResource": QUEUE})]
    assert effect(policies, "dynamodb:GetItem", TABLE) == ALLOW
    assert effect(policies, "dynamodb:DeleteItem", TABLE) == IMPLICIT_DENY
    assert effect(policies, "sqs:SendMessage", QUEUE) == IMPLICIT_DENY


def test_an_allow_whose_condition_fails_does_not_apply_it_is_not_a_deny():
    policies = [
        policy(
            allow(
                "cloudwatch:PutMetricData",
                Condition={"StringEquals": {"cloudwatch:namespace": "Pipeline"}},
            )
        )
    ]
    ok = {"cloudwatch:namespace": ["Pipeline"]}
    assert effect(policies, "cloudwatch:PutMetricData", "*", ok) == ALLOW
    other = {"cloudwatch:namespace": ["Other"]}
    assert effect(policies, "cloudwatch:PutMetricData", "*", other) == IMPLICIT_DENY
    assert effect(policies, "cloudwatch:PutMetricData", "*", {}) == IMPLICIT_DENY


@pytest.mark.parametrize(
    ("operator", "expected", "context", "holds"),
    [
        ("StringLike", "Pipe*", ["PipelineA"], True),
        ("StringLike", "Pipe?", ["PipelineA"], False),
        ("StringNotEquals", "A", ["B"], True),
        ("StringNotEquals", "A", None, True),  # negated operator, key missing: true
        ("StringEquals", "A", None, False),  # key missing: false
        ("StringEqualsIfExists", "A", None, True),
        ("StringEqualsIfExists", "A", ["B"], False),
        ("StringEqualsIgnoreCase", "abc", ["ABC"], True),
        ("ArnLike", "arn:aws:sqs:*:123456789012:q*", [QUEUE], True),
        ("ArnLike", "arn:aws:sqs:*:999999999999:*", [QUEUE], False),
        ("ArnEquals", QUEUE, [QUEUE], True),
        ("ArnNotLikeIfExists", "arn:aws:sqs:*:*:other", [QUEUE], True),
        ("NumericLessThan", "10", ["5"], True),
        ("Bool", "true", ["false"], False),
        ("Null", "true", None, True),
        ("Null", "false", None, False),
    ],
)
def test_condition_operators(operator, expected, context, holds):
    statement = allow("s3:GetObject", Condition={operator: {"my:key": expected}})
    request_context = {} if context is None else {"My:Key": context}  # keys ignore case
    assert (effect([policy(statement)], "s3:GetObject", "*", request_context) == ALLOW) is holds


def test_an_unknown_condition_operator_is_an_error_not_an_allow():
    statement = allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    with pytest.raises(UnsupportedCondition):
        evaluate([policy(statement)], "s3:GetObject", "*", {"aws:SourceIp": ["10.1.1.1"]})


def test_single_statement_object_and_action_lists():
    document = {"Statement": {"Effect": "Allow", "Action": ["sqs:A", "sqs:B"], "Resource": "*"}}
    assert effect([Policy("single", document)], "sqs:B") == ALLOW
