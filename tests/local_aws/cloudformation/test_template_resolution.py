"""local_aws.template: parameters, conditions, Globals, intrinsics, order and names."""

from pathlib import Path

import pytest

from local_aws.template import NotYetCreated, Template, TemplateError, merge_globals

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"


def test_parameters_defaults_and_overrides():
    t = Template(FIXTURE)
    assert t.parameters["MetricsNamespace"] == "Fixture/Pipeline"
    assert t.parameters["PipeBatchSize"] == "1"
    t = Template(FIXTURE, parameter_overrides={"PipeBatchSize": 5, "LogLevel": "ALL"})
    assert t.parameters["PipeBatchSize"] == "5"
    assert t.conditions["LogAll"] is True


@pytest.mark.parametrize(
    "overrides",
    [{"PipeBatchSize": 11}, {"LogLevel": "DEBUG"}, {"NoSuchParameter": "x"}],
)
def test_bad_parameter_overrides_are_refused(overrides):
    with pytest.raises(TemplateError):
        Template(FIXTURE, parameter_overrides=overrides)


def test_conditions_and_conditional_resources():
    t = Template(FIXTURE)
    assert t.conditions == {"TtlEnabled": False, "LogAll": False, "Never": False}
    assert "NeverCreated" not in t.resources
    assert Template(FIXTURE, parameter_overrides={"IdempotencyTtlDays": 7}).conditions["TtlEnabled"]


def test_sam_globals_are_merged_into_functions():
    props = Template(FIXTURE).raw_properties("EchoFunction")
    assert props["Runtime"] == "python3.12"
    assert props["MemorySize"] == 256
    assert props["Timeout"] == 5  # the function's own value wins
    assert props["Layers"] == [{"Ref": "CommonLayer"}]
    assert set(props["Environment"]["Variables"]) == {
        "METRICS_NAMESPACE",
        "LOG_PAYLOADS",
        "TABLE_NAME",
        "ONLY_IF_LOG_ALL",
    }


def test_merge_globals_rules():
    merged = merge_globals(
        {"A": {"x": 1, "y": 2}, "L": [1], "S": "g", "I": {"Ref": "P"}},
        {"A": {"y": 3}, "L": [2], "S": "l", "I": {"Ref": "Q"}},
    )
    assert merged == {"A": {"x": 1, "y": 3}, "L": [1, 2], "S": "l", "I": {"Ref": "Q"}}


def test_creation_order_respects_references():
    t = Template(FIXTURE)
    order = t.creation_order()
    before = {(a, b) for i, a in enumerate(order) for b in order[i + 1 :]}
    for first, then in [
        ("MessagesDeadLetterQueue", "MessagesQueue"),
        ("CommonLayer", "EchoFunction"),
        ("MessagesTable", "EchoFunction"),
        ("EchoFunction", "EchoFunctionLogGroup"),
        ("EchoFunction", "PipelineStateMachine"),
        ("PipelineStateMachineLogGroup", "PipelineStateMachine"),
        ("PipelineStateMachine", "MessagesPipe"),
        ("MessagesPipeRole", "MessagesPipe"),
        ("AlarmTopic", "DeadLetterQueueDepthAlarm"),
    ]:
        assert (first, then) in before, (first, then)


def test_refs_to_resources_not_created_yet_are_an_error():
    t = Template(FIXTURE)
    with pytest.raises(NotYetCreated):
        t.properties("MessagesQueue")


def test_intrinsics_resolve_against_registered_resources():
    t = Template(FIXTURE)
    t.register("MessagesDeadLetterQueue", "http://q/dlq.fifo", {"Arn": "arn:dlq", "QueueName": "d"})
    props = t.properties("MessagesQueue")
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 5}
    t.register("CommonLayer", "arn:layer:1")
    t.register("MessagesTable", "tbl")
    env = t.properties("EchoFunction")["Environment"]["Variables"]
    assert env == {
        "METRICS_NAMESPACE": "Fixture/Pipeline",
        "LOG_PAYLOADS": "false",
        "TABLE_NAME": "tbl",
    }  # AWS::NoValue removed the conditional variable
    assert t.resolve({"Fn::Sub": "${AWS::StackName}:${AWS::AccountId}:${!Keep}"}) == (
        "sqs-fifo-pipeline:123456789012:${Keep}"
    )
    assert t.resolve({"Fn::Join": ["|", [{"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}]]}) == "b"


def test_physical_names_look_like_cloudformation_and_are_stable():
    t = Template(FIXTURE)
    queue = t.physical_name("MessagesQueue", fifo=True)
    assert queue.startswith("sqs-fifo-pipeline-MessagesQueue-") and queue.endswith(".fifo")
    assert len(queue) <= 80
    assert t.physical_name("PipelineStateMachine").startswith("PipelineStateMachine-")
    assert Template(FIXTURE).physical_name("MessagesQueue", fifo=True) == queue
    other = Template(FIXTURE, stack_name="other").physical_name("MessagesQueue", fifo=True)
    assert other != queue
    long_stack = Template(FIXTURE, stack_name="s" * 70)
    assert len(long_stack.physical_name("EchoFunction")) <= 64
