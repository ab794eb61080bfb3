"""CreateStateMachine validates the definition by parsing it, once per definition: the parse is
kept for its executions, those of the local stack and those moto starts itself under `mock_aws`
(local_aws/stepfunctions/patches.py, `_definitions_parsed_once`), and
a definition that does not parse is refused every time, as InvalidDefinition (the error AWS
names in the CreateStateMachine API reference; moto's parser API answered an empty code)."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse import asl_parser

from local_aws import moto_patches
from local_aws.stepfunctions import executions

# A state type the ASL grammar does not have.
UNPARSABLE = {"StartAt": "P", "States": {"P": {"Type": "Nope", "End": True}}}


def test_an_unparsable_definition_is_refused_every_time(create_machine):
    for _ in range(2):  # a failed parse is not kept: the second create is refused the same way
        with pytest.raises(ClientError) as refused:
            create_machine(UNPARSABLE)
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidDefinition"
        assert "Nope" in error["Message"], error
    assert json.dumps(UNPARSABLE) not in executions._programs


def test_a_created_definition_is_parsed_once_for_its_executions(create_machine, sfn):
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True}},
    }
    arn = create_machine(definition)
    parsed = executions._programs[json.dumps(definition)]
    for n in (1, 2):
        result = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"n": n}))
        assert result["status"] == "SUCCEEDED", result
        assert json.loads(result["output"]) == {"n": n}
    assert executions._programs[json.dumps(definition)] is parsed


def test_executions_moto_starts_itself_parse_nothing_again(monkeypatch):
    moto_patches.apply()  # what LocalAWS installs; idempotent (a `mock_aws` test process)
    parses = []
    parse = asl_parser.AmazonStateLanguageParser.parse

    def counted(definition, *args):
        parses.append(definition)
        return parse(definition, *args)

    monkeypatch.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(counted))
    # never parsed before in this process
    state = {"Type": "Pass", "Parameters": {"n.$": "$.n", "id": uuid.uuid4().hex}, "End": True}
    definition = json.dumps({"StartAt": "P", "States": {"P": state}})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="parsed-once", definition=definition, roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        for n in (1, 2):
            started = sfn.start_execution(
                stateMachineArn=arn, name=f"run-{n}", input=json.dumps({"n": n})
            )
            described = _finished(sfn, started["executionArn"])
            assert described["status"] == "SUCCEEDED", described
            assert json.loads(described["output"])["n"] == n  # each execution its own copy
    assert parses == [definition]  # CreateStateMachine's validation; no execution parsed again


def _finished(sfn, execution_arn: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described  # a RUNNING one after the deadline fails the caller's assertion
        time.sleep(0.02)
