"""Structural checks of template.yaml (docs/architecture.md, docs/deploy.md, docs/contract.md)."""

from __future__ import annotations

import json

import pytest
from workflow_files import ASL_PATH, ROOT, TEMPLATE_PATH, placeholders

from pipeline_tools.contract import METRIC_NAMES

CONTRACT_IDS = {
    "MessagesQueue": "AWS::SQS::Queue",
    "MessagesDeadLetterQueue": "AWS::SQS::Queue",
    "MessagesTable": "AWS::DynamoDB::Table",
    "CommonLayer": "AWS::Serverless::LayerVersion",
    "ValidateFunction": "AWS::Serverless::Function",
    "CheckIdempotencyFunction": "AWS::Serverless::Function",
    "SaveFunction": "AWS::Serverless::Function",
    "DeleteFunction": "AWS::Serverless::Function",
    "PipelineStateMachine": "AWS::Serverless::StateMachine",
    "PipelineStateMachineLogGroup": "AWS::Logs::LogGroup",
    "MessagesPipe": "AWS::Pipes::Pipe",
    "MessagesPipeRole": "AWS::IAM::Role",
}
FUNCTIONS = {
    "ValidateFunction": "lambdas/validate/",
    "CheckIdempotencyFunction": "lambdas/check_idempotency/",
    "SaveFunction": "lambdas/save/",
    "DeleteFunction": "lambdas/delete/",
}
PARAMETERS = {
    "MetricsNamespace",
    "ExecutionLogLevel",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "LogRetentionInDays",
    "IdempotencyTtlDays",
    "AlarmEmail",
}
OUTPUTS = {"QueueUrl", "DeadLetterQueueUrl", "TableName", "StateMachineArn", "PipeArn"}
METRICS = set(METRIC_NAMES)  # the layer's contract (lambdas/common/pipeline_common/metrics.py)
ERROR_METRICS = {
    "InvalidMessages",
    "DynamoDBCheckError",
    "DynamoDBSaveError",
    "SQSGetURLError",
    "SQSDeleteError",
}
# The actions of AWS's policy for Step Functions logging to CloudWatch Logs ("IAM Policies for
# logging to CloudWatch Logs", https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
EXECUTION_LOGGING_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:CreateLogStream",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutLogEvents",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# Properties that would give a resource a fixed physical name (two stacks could not coexist).
NAME_PROPERTIES = {
    "QueueName",
    "TableName",
    "FunctionName",
    "LayerName",
    "Name",
    "RoleName",
    "TopicName",
    "AlarmName",
    "DashboardName",
    "PolicyName",  # inline policy names are scoped to their role: allowed below
    "LogGroupName",
}


def props(resources: dict, logical_id: str) -> dict:
    return resources[logical_id].get("Properties", {})


def statements(policy_document: dict) -> list[dict]:
    found = policy_document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# -------------------------------------------------------------------------------------- basics


def test_is_a_sam_template(template):
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


def test_contract_logical_ids(resources):
    for logical_id, kind in CONTRACT_IDS.items():
        assert resources[logical_id]["Type"] == kind, logical_id


def test_parameters(template):
    params = template["Parameters"]
    assert set(params) >= PARAMETERS
    assert params["ExecutionLogLevel"]["AllowedValues"] == ["ALL", "ERROR", "FATAL", "OFF"]
    assert params["ExecutionLogLevel"]["Default"] == "ERROR"
    assert params["BatchSize"]["AllowedValues"] == list(range(1, 11))
    assert params["IdempotencyTtlDays"]["MinValue"] == 0
    assert params["AlarmEmail"]["Default"] == ""
    assert "HasAlarmEmail" in template["Conditions"]


def test_outputs(template):
    assert set(template["Outputs"]) >= OUTPUTS


def test_no_fixed_physical_names(resources):
    for logical_id, resource in resources.items():
        for key, value in resource.get("Properties", {}).items():
            if key not in NAME_PROPERTIES:
                continue
            if key in {"LogGroupName", "LayerName"}:
                # Unique per stack: the stack name, or a generated function name, in it.
                text = json.dumps(value)
                assert "${AWS::StackName}" in text or "Function}" in text, logical_id
            else:
                pytest.fail(f"{logical_id} has a fixed {key}")


# -------------------------------------------------------------------------------------- queues


def test_fifo_queue_with_redrive_and_long_visibility(resources):
    queue = props(resources, "MessagesQueue")
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["VisibilityTimeout"] >= 6 * 300
    assert queue["SqsManagedSseEnabled"] is True
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["MessagesDeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] >= 5


def test_fifo_dead_letter_queue(resources):
    dlq = props(resources, "MessagesDeadLetterQueue")
    assert dlq["FifoQueue"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    # The DLQ keeps messages at least as long as the source queue.
    assert (
        dlq["MessageRetentionPeriod"] >= props(resources, "MessagesQueue")["MessageRetentionPeriod"]
    )


def test_table(resources):
    table = props(resources, "MessagesTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "message_id", "KeyType": "HASH"}]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


# ----------------------------------------------------------------------------------- functions


def test_layer(template, resources):
    layer = resources["CommonLayer"]
    assert layer["Properties"]["ContentUri"] == "lambdas/common/"
    function = template["Globals"]["Function"]
    assert layer["Properties"]["CompatibleRuntimes"] == [function["Runtime"]]
    assert layer["Properties"]["CompatibleArchitectures"] == function["Architectures"]
    assert layer["Metadata"]["BuildArchitecture"] == function["Architectures"][0]
    # one layer name per stack, not SAM's default (the logical id) shared by every stack
    assert layer["Properties"]["LayerName"] == {"Fn::Sub": "${AWS::StackName}-common"}


@pytest.mark.parametrize("logical_id", ["CommonLayer", *FUNCTIONS])
def test_code_is_built_by_lambdas_makefile(resources, logical_id):
    # lambdas/Makefile (pip for cp314/aarch64) instead of SAM's python3.14 builder, which needs
    # python3.14 on PATH or Docker
    assert resources[logical_id]["Metadata"]["BuildMethod"] == "makefile"
    assert resources[logical_id]["Metadata"]["ContextPath"] == "lambdas"
    makefile = (ROOT / "lambdas" / "Makefile").read_text()
    assert f"build-{logical_id}" in makefile


def test_function_globals(template):
    function = template["Globals"]["Function"]
    assert function["Runtime"].startswith("python3.")
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["Handler"] == "app.lambda_handler"
    assert function["Layers"] == [{"Ref": "CommonLayer"}]
    assert function["Environment"]["Variables"]["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert "LOG_PAYLOADS" in function["Environment"]["Variables"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function(resources, logical_id):
    function = props(resources, logical_id)
    assert function["CodeUri"] == FUNCTIONS[logical_id]
    # Lambda's default group, created by the stack so that it has a retention.
    log_group = resources[f"{logical_id}LogGroup"]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert logical_id + "LogGroup" in resources["MessagesPipe"]["DependsOn"]
    assert "LoggingConfig" not in function
    for key in ("Runtime", "Architectures", "Tracing", "Handler"):
        assert key not in function, f"{logical_id} overrides Globals.{key}"


def test_table_env_vars(resources):
    for logical_id in ("CheckIdempotencyFunction", "SaveFunction"):
        variables = props(resources, logical_id)["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == {"Ref": "MessagesTable"}
    save = props(resources, "SaveFunction")["Environment"]["Variables"]
    assert save["IDEMPOTENCY_TTL_DAYS"] == {"Ref": "IdempotencyTtlDays"}


def function_actions(resources, logical_id) -> list[tuple[str, object]]:
    found = []
    for policy in props(resources, logical_id).get("Policies", []):
        assert set(policy) == {"Statement"}, "inline statements only (no broad SAM templates)"
        for statement in as_list(policy["Statement"]):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                found.append((action, statement["Resource"]))
    return found


def test_least_privilege_functions(resources):
    table = {"Fn::GetAtt": ["MessagesTable", "Arn"]}
    queue = {"Fn::GetAtt": ["MessagesQueue", "Arn"]}
    assert function_actions(resources, "ValidateFunction") == []
    assert function_actions(resources, "CheckIdempotencyFunction") == [("dynamodb:GetItem", table)]
    assert function_actions(resources, "SaveFunction") == [("dynamodb:PutItem", table)]
    assert sorted(function_actions(resources, "DeleteFunction")) == [
        ("sqs:DeleteMessage", queue),
        ("sqs:GetQueueUrl", queue),
    ]


# ------------------------------------------------------------------------------- state machine


def test_state_machine(template, resources):
    machine = props(resources, "PipelineStateMachine")
    assert machine["Type"] == "EXPRESS"
    assert (ROOT / machine["DefinitionUri"]) == ASL_PATH
    assert machine["Tracing"] == {"Enabled": True}
    logging = machine["Logging"]
    assert logging["Level"] == {"Ref": "ExecutionLogLevel"}
    # Execution data (payloads) only at level ALL: ERROR logs must not carry message bodies.
    assert logging["IncludeExecutionData"] == {"Fn::If": ["LogsAllExecutionData", True, False]}
    assert template["Conditions"]["LogsAllExecutionData"] == {
        "Fn::Equals": [{"Ref": "ExecutionLogLevel"}, "ALL"]
    }
    assert logging["Destinations"] == [
        {
            "CloudWatchLogsLogGroup": {
                "LogGroupArn": {"Fn::GetAtt": ["PipelineStateMachineLogGroup", "Arn"]}
            }
        }
    ]
    log_group = props(resources, "PipelineStateMachineLogGroup")
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_definition_substitutions_match_the_asl_placeholders(resources, asl_text):
    substitutions = props(resources, "PipelineStateMachine")["DefinitionSubstitutions"]
    assert set(substitutions) == placeholders(asl_text)


def test_definition_substitution_values(resources):
    substitutions = props(resources, "PipelineStateMachine")["DefinitionSubstitutions"]
    for logical_id in FUNCTIONS:
        assert substitutions[f"{logical_id}Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert substitutions["DeadLetterQueueUrl"] == {"Ref": "MessagesDeadLetterQueue"}
    assert substitutions["MetricsNamespace"] == {"Ref": "MetricsNamespace"}


def test_state_machine_policies_are_least_privilege(resources):
    policies = props(resources, "PipelineStateMachine")["Policies"]
    invoked = sorted(
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for p in policies
        if "LambdaInvokePolicy" in p
    )
    assert invoked == sorted(FUNCTIONS)
    custom = [s for p in policies if "Statement" in p for s in as_list(p["Statement"])]
    assert len(policies) == len(FUNCTIONS) + 1
    by_action = {a: s for s in custom for a in as_list(s["Action"])}
    assert by_action["sqs:SendMessage"]["Resource"] == {
        "Fn::GetAtt": ["MessagesDeadLetterQueue", "Arn"]
    }
    metric = by_action["cloudwatch:PutMetricData"]
    assert metric["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": {"Ref": "MetricsNamespace"}}
    }
    assert {a for a in by_action if a.startswith("logs:")} == EXECUTION_LOGGING_ACTIONS
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert by_action[action]["Resource"] == {
            "Fn::GetAtt": ["PipelineStateMachineLogGroup", "Arn"]
        }
    assert "xray:PutTraceSegments" in by_action
    wildcard = {a for a, s in by_action.items() if s["Resource"] == "*"}
    assert all(a.split(":")[0] in {"logs", "xray", "cloudwatch"} for a in wildcard), wildcard


# -------------------------------------------------------------------------------------- pipe


def test_pipe_role_has_exactly_the_four_actions(resources):
    role = props(resources, "MessagesPipeRole")
    assert "ManagedPolicyArns" not in role
    trust = statements(role["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust] == [{"Service": "pipes.amazonaws.com"}]
    granted = {}
    for policy in role["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                granted[action] = statement["Resource"]
    assert granted == {
        "sqs:ReceiveMessage": {"Fn::GetAtt": ["MessagesQueue", "Arn"]},
        "sqs:DeleteMessage": {"Fn::GetAtt": ["MessagesQueue", "Arn"]},
        "sqs:GetQueueAttributes": {"Fn::GetAtt": ["MessagesQueue", "Arn"]},
        "states:StartSyncExecution": {"Ref": "PipelineStateMachine"},
    }


def test_pipe(resources):
    pipe = props(resources, "MessagesPipe")
    assert pipe["RoleArn"] == {"Fn::GetAtt": ["MessagesPipeRole", "Arn"]}
    assert pipe["Source"] == {"Fn::GetAtt": ["MessagesQueue", "Arn"]}
    assert pipe["SourceParameters"]["SqsQueueParameters"] == {
        "BatchSize": {"Ref": "BatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "MaximumBatchingWindowInSeconds"},
    }
    assert pipe["Target"] == {"Ref": "PipelineStateMachine"}
    assert pipe["TargetParameters"] == {
        "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE"}
    }
    assert "Enrichment" not in pipe and "FilterCriteria" not in pipe.get("SourceParameters", {})


# ------------------------------------------------------------------------- alarms and dashboard


def alarms(resources) -> dict:
    return {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_an_alarm_per_error_metric(resources):
    found = {a["MetricName"]: a for a in alarms(resources).values() if a["Namespace"] != "AWS/SQS"}
    assert set(found) == ERROR_METRICS
    for alarm in found.values():
        assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}
        assert alarm["Statistic"] == "Sum"
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_dead_letter_queue_alarm(resources):
    (dlq,) = [a for a in alarms(resources).values() if a["Namespace"] == "AWS/SQS"]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["MessagesDeadLetterQueue", "QueueName"]}}
    ]
    assert dlq["Threshold"] == 0 and dlq["ComparisonOperator"] == "GreaterThanThreshold"


def test_alarm_actions_only_with_an_email(resources):
    topics = {k: v for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"}
    assert len(topics) == 1
    ((topic_id, topic),) = topics.items()
    assert topic["Condition"] == "HasAlarmEmail"
    for alarm in alarms(resources).values():
        expected = {"Fn::If": ["HasAlarmEmail", [{"Ref": topic_id}], {"Ref": "AWS::NoValue"}]}
        assert alarm["AlarmActions"] == expected


def test_dashboard_shows_the_eight_metrics_and_the_executions(resources):
    (dashboard,) = [
        v["Properties"] for v in resources.values() if v["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body, variables = dashboard["DashboardBody"]["Fn::Sub"]
    assert variables["Namespace"] == {"Ref": "MetricsNamespace"}
    assert variables["StateMachineArn"] == {"Ref": "PipelineStateMachine"}
    # The body must be valid JSON once substituted.
    concrete = body
    for name in placeholders(body):
        concrete = concrete.replace("${" + name + "}", f"<{name}>")
    widgets = json.loads(concrete)["widgets"]
    metrics = [m for w in widgets for m in w["properties"]["metrics"]]
    assert {m[1] for m in metrics if m[0] == "<Namespace>"} == METRICS
    assert {m[1] for m in metrics if m[0] == "AWS/States"} == {
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
    }


def test_template_file_is_what_the_tests_read():
    assert TEMPLATE_PATH.name == "template.yaml" and TEMPLATE_PATH.parent == ROOT
