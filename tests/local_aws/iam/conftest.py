from __future__ import annotations

import json
import uuid

import boto3
import pytest

from local_aws.iam.trust import trust_policy

LAMBDA_TRUST = trust_policy("lambda.amazonaws.com")


@pytest.fixture
def role_session(local_stack):
    """role_session(*statements, trust=LAMBDA_TRUST) -> (boto3 Session of a fresh role, role
    name): the role is created with one inline policy and assumed through STS."""
    iam = local_stack.client("iam")
    sts = local_stack.client("sts")
    created = []

    def make(*statements, trust=LAMBDA_TRUST):
        name = f"test-role-{uuid.uuid4().hex[:8]}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
        created.append(name)
        issued = sts.assume_role(RoleArn=arn, RoleSessionName="tester")["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=issued["AccessKeyId"],
            aws_secret_access_key=issued["SecretAccessKey"],
            aws_session_token=issued["SessionToken"],
            region_name=local_stack.region,
        )
        return session, name

    yield make
    for name in created:
        try:
            iam.delete_role_policy(RoleName=name, PolicyName="inline")
        except iam.exceptions.NoSuchEntityException:
            continue  # the test deleted its role itself
        iam.delete_role(RoleName=name)
