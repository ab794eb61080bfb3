"""CreateStateMachine validates the definition by parsing it, once per definition: the parse is
kept for its executions (local_aws/stepfunctions/patches.py, `_definitions_parsed_once`), and
a definition that does not parse is refused every time, as InvalidDefinition (the error AWS
names in the CreateStateMachine API reference; moto's parser API answered an empty code)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

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
