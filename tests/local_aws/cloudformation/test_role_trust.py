"""A role its service may not assume fails the local deploy with CloudFormation's message."""

from __future__ import annotations

import textwrap

import pytest

from local_aws.cloudformation.deploy import deploy
from local_aws.cloudformation.template import TemplateError

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  WrongRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: {principal}}}
            Action: sts:AssumeRole
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      Role: !GetAtt WrongRole.Arn
"""


def write(tmp_path, principal):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(principal=principal)))
    return path


def test_a_function_role_lambda_cannot_assume_fails_the_deploy(local_stack, tmp_path):
    with pytest.raises(TemplateError) as caught:
        deploy(local_stack, write(tmp_path, "states.amazonaws.com"), stack_name="trust-bad")
    message = str(caught.value)
    assert message.startswith("creating AWS::Lambda::Function Fn: Resource handler returned ")
    assert '"The role defined for the function cannot be assumed by Lambda. (Service: Lambda, ' in (
        message
    )
    assert message.endswith("(HandlerErrorCode: InvalidRequest)")


def test_a_role_lambda_may_assume_deploys(local_stack, tmp_path):
    stack = deploy(local_stack, write(tmp_path, "lambda.amazonaws.com"), stack_name="trust-ok")
    assert stack.functions["Fn"].role == stack.get_att("WrongRole", "Arn")
