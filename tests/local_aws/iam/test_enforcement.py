"""Requests signed with a role's temporary credentials are authorised by the role's policies,
and a denial is the called service's own AccessDenied error (code, status, message shape)."""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def client(local_stack, session, service):
    return session.client(
        service,
        endpoint_url=local_stack.endpoint_url,
        config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
    )


def denied(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response


def principal(role: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/tester"


@pytest.fixture(scope="module")
def table(local_stack):
    name = f"iam-test-{uuid.uuid4().hex[:6]}"
    local_stack.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name, f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"


def test_dynamodb_grants_exactly_the_granted_action_on_the_granted_table(
    local_stack, role_session, table
):
    name, arn = table
    session, role = role_session({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": arn})
    ddb = client(local_stack, session, "dynamodb")
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}})
    response = denied(ddb.get_item, TableName=name, Key={"id": {"S": "a"}})
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == (
        f"User: {principal(role)} is not authorized to perform: dynamodb:GetItem on resource: "
        f"{arn} because no identity-based policy allows the dynamodb:GetItem action"
    )
    # the user's own credentials keep full access
    assert local_stack.client("dynamodb").get_item(TableName=name, Key={"id": {"S": "a"}})["Item"]


def test_explicit_deny_message(local_stack, role_session, table):
    name, arn = table
    session, role = role_session(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": arn},
    )
    ddb = client(local_stack, session, "dynamodb")
    response = denied(ddb.delete_item, TableName=name, Key={"id": {"S": "a"}})
    assert response["Error"]["Message"] == (
        f"User: {principal(role)} is not authorized to perform: dynamodb:DeleteItem on resource: "
        f"{arn} with an explicit deny in an identity-based policy"
    )


def test_sqs_denial_is_sqs_access_denied_and_batches_need_the_single_action(
    local_stack, role_session
):
    url = local_stack.client("sqs").create_queue(QueueName=f"iam-{uuid.uuid4().hex[:6]}")[
        "QueueUrl"
    ]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"
    session, role = role_session(
        {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": arn}
    )
    sqs = client(local_stack, session, "sqs")
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    for call, kwargs in [
        (sqs.send_message, {"MessageBody": "x"}),
        (sqs.send_message_batch, {"Entries": [{"Id": "1", "MessageBody": "x"}]}),
    ]:
        response = denied(call, QueueUrl=url, **kwargs)
        assert response["Error"]["Code"] == "AccessDenied"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        # SQS names the action in lower case
        assert response["Error"]["Message"] == (
            f"User: {principal(role)} is not authorized to perform: sqs:sendmessage on "
            f"resource: {arn} because no identity-based policy allows the sqs:sendmessage action"
        )


def test_lambda_invoke_denial_is_lambdas_403(local_stack, role_session):
    session, _ = role_session(
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:*:*:function:other",
        }
    )
    lam = client(local_stack, session, "lambda")
    response = denied(lam.invoke, FunctionName="anything")
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:anything"
    assert (
        f"lambda:InvokeFunction on resource: {function_arn} because" in response["Error"]["Message"]
    )


def test_put_metric_data_is_authorised_on_the_namespace_condition(local_stack, role_session):
    session, role = role_session(
        {
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Allowed"}},
        }
    )
    cw = client(local_stack, session, "cloudwatch")
    data = [{"MetricName": "M", "Value": 1}]
    cw.put_metric_data(Namespace="Allowed", MetricData=data)
    response = denied(cw.put_metric_data, Namespace="Other", MetricData=data)
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["Error"]["Message"] == (
        f"User: {principal(role)} is not authorized to perform: cloudwatch:PutMetricData "
        "because no identity-based policy allows the cloudwatch:PutMetricData action"
    )


def test_start_sync_execution_denial(local_stack, role_session):
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:not-granted"
    session, _ = role_session(
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": "*"}
    )
    sfn = client(local_stack, session, "stepfunctions")
    response = denied(sfn.start_sync_execution, stateMachineArn=machine, input="{}")
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert f"states:StartSyncExecution on resource: {machine}" in response["Error"]["Message"]


def test_get_caller_identity_needs_no_permission(local_stack, role_session):
    session, role = role_session({"Effect": "Deny", "Action": "*", "Resource": "*"})
    identity = client(local_stack, session, "sts").get_caller_identity()
    assert identity["Arn"] == principal(role)


def test_the_switch_turns_enforcement_off(monkeypatch):
    from local_aws.core.requests import RequestInfo
    from local_aws.iam.enforcer import IamEnforcer

    monkeypatch.setenv("LOCAL_AWS_IAM", "off")
    enforcer = IamEnforcer(ACCOUNT, "us-east-1")
    assert enforcer.enabled is False
    environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=ASIAANYTHING/x"}
    assert enforcer.check(environ, RequestInfo("dynamodb", "GetItem", "json"), None) is None


def test_a_deleted_roles_session_is_denied_everything(local_stack, role_session, table):
    # The keys outlive the role; its permissions do not (a stack deleted while its pipe still
    # polls). A clear AccessDenied, not a server error.
    name, arn = table
    session, role = role_session({"Effect": "Allow", "Action": "dynamodb:*", "Resource": arn})
    ddb = client(local_stack, session, "dynamodb")
    ddb.put_item(TableName=name, Item={"id": {"S": "kept"}})
    iam = local_stack.client("iam")
    iam.delete_role_policy(RoleName=role, PolicyName="inline")
    iam.delete_role(RoleName=role)
    response = denied(ddb.get_item, TableName=name, Key={"id": {"S": "kept"}})
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["Error"]["Message"] == (
        f"User: {principal(role)} is not authorized to perform: dynamodb:GetItem on resource: "
        f"{arn} because no identity-based policy allows the dynamodb:GetItem action"
    )
