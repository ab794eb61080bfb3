"""Deploy template.yaml onto a running LocalAWS, the way `sam deploy` would create it in AWS.

The template is the one CloudFormation receives: SAM-transformed by aws-sam-translator (see
`sam`), so every resource here is a plain CloudFormation type. Resources are created in
dependency order with boto3 against the local endpoint (queues with their redrive policy, the
table with TTL/PITR, log groups with retention, IAM roles with their policies, the state machine
with its substitutions applied); layer versions and functions are registered with the local
Lambda runtime (code folders from the packaged Code/Content locations); the pipe's resolved
properties are kept for the pipe emulator (`local_aws.pipes`). Resource types that do not change
behaviour locally (alarms, dashboards, SNS, X-Ray groups, ...) are not created: their Ref/GetAtt
values are synthesized so references to them still resolve, and they are listed in one notice
line per type.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

from local_aws import clients
from local_aws.cloudformation import sam
from local_aws.cloudformation.stack_record import DeployedStackRecord, StackResource, register_stack
from local_aws.cloudformation.template import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    Template,
    TemplateError,
    iter_substitutions,
)
from local_aws.iam import trust
from local_aws.iam.managed import register_aws_managed_policy
from local_aws.pipes.emulator import PipeDefinition

Log = Callable[[str], None]


def make_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION, **config: Any):
    """A boto3 client for the local endpoint (any credentials are accepted locally).

    Pass inject_host_prefix=False for Step Functions' StartSyncExecution, whose `sync-` host
    prefix would otherwise turn 127.0.0.1 into sync-127.0.0.1."""
    return clients.client(
        service,
        endpoint_url,
        region=region,
        retries={"max_attempts": 3, "mode": "standard"},
        **config,
    )


@dataclass
class DeployedStack:
    """What `sam deploy` leaves behind, as far as the local stack needs it."""

    stack_name: str
    region: str
    account_id: str
    endpoint_url: str
    template: Template
    parameters: dict[str, Any]
    outputs: dict[str, Any]
    physical_ids: dict[str, Any]  # logical id -> Ref value (queue URL, table name, ARN, ...)
    attributes: dict[str, dict[str, Any]]  # logical id -> GetAtt values
    functions: dict[str, Any] = field(default_factory=dict)  # logical id -> FunctionSpec
    pipes: dict[str, PipeDefinition] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # type -> logical ids

    def ref(self, logical_id: str) -> Any:
        return self.physical_ids[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.attributes[logical_id][attribute]

    def logical_ids(self, resource_type: str) -> list[str]:
        return self.template.resources_of_type(resource_type)

    def client(self, service: str, **config: Any):
        return make_client(service, self.endpoint_url, self.region, **config)


class _Deployer:
    def __init__(self, local: Any, template: Template, log: Log) -> None:
        self.local = local
        self.t = template
        self.log = log
        self.endpoint_url = local.endpoint_url
        self._clients: dict[str, Any] = {}
        self.layers_by_arn: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        self.pipes: dict[str, PipeDefinition] = {}
        self.skipped: dict[str, list[str]] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = make_client(service, self.endpoint_url, self.t.region)
        return self._clients[service]

    def run(self) -> None:
        handlers: dict[str, Callable[[str], None]] = {
            "AWS::SQS::Queue": self.queue,
            "AWS::DynamoDB::Table": self.table,
            "AWS::Logs::LogGroup": self.log_group,
            "AWS::IAM::Role": self.role,
            "AWS::Lambda::LayerVersion": self.layer,
            "AWS::Lambda::Function": self.function,
            "AWS::StepFunctions::StateMachine": self.state_machine,
            "AWS::Pipes::Pipe": self.pipe,
        }
        for logical_id in self.t.creation_order():
            rtype = self.t.resource_type(logical_id)
            handler = handlers.get(rtype)
            if handler is None:
                self.synthesize(logical_id, rtype)
            else:
                try:
                    handler(logical_id)
                except (ClientError, TemplateError, OSError, trust.RoleNotAssumable) as exc:
                    raise TemplateError(f"creating {rtype} {logical_id}: {exc}") from exc
        for rtype, ids in self.skipped.items():
            self.log(f"skipped (no local effect) {rtype}: {', '.join(ids)}")

    # ------------------------------------------------------------------ SQS

    def queue(self, lid: str) -> None:
        props = self.t.properties(lid)
        attributes = {}
        for key, value in props.items():
            if key in ("QueueName", "Tags"):
                continue
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            attributes[key] = _text(value)
        fifo = attributes.get("FifoQueue", "false") == "true"
        name = props.get("QueueName") or self.t.physical_name(lid, fifo=fifo)
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        tags = _tag_map(props.get("Tags"))
        if tags:
            kwargs["tags"] = tags
        sqs = self.client("sqs")
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.t.register(lid, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})
        self.log(f"created queue {name}")

    # ------------------------------------------------------------------ DynamoDB

    def table(self, lid: str) -> None:
        props = self.t.properties(lid)
        name = props.get("TableName") or self.t.physical_name(lid)
        kwargs: dict[str, Any] = {"TableName": name}
        for key in (
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "TableClass",
            "DeletionProtectionEnabled",
        ):
            if key in props:
                kwargs[key] = props[key]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        sse = props.get("SSESpecification")
        if sse:
            kwargs["SSESpecification"] = {
                k2: sse[k1]
                for k1, k2 in (
                    ("SSEEnabled", "Enabled"),
                    ("SSEType", "SSEType"),
                    ("KMSMasterKeyId", "KMSMasterKeyId"),
                )
                if k1 in sse
            }
        tags = props.get("Tags")
        if tags:
            kwargs["Tags"] = tags
        ddb = self.client("dynamodb")
        try:
            description = ddb.create_table(**_as_api_input(ddb, "CreateTable", kwargs))[
                "TableDescription"
            ]
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise
            description = ddb.describe_table(TableName=name)["Table"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _truthy(ttl.get("Enabled")):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and _truthy(pitr.get("PointInTimeRecoveryEnabled")):
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        attrs = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attrs["StreamArn"] = description["LatestStreamArn"]
        self.t.register(lid, name, attrs)
        self.log(
            f"created table {name}"
            + (f" (TTL on {ttl['AttributeName']})" if ttl and _truthy(ttl.get("Enabled")) else "")
        )

    # ------------------------------------------------------------------ CloudWatch Logs

    def log_group(self, lid: str) -> None:
        props = self.t.properties(lid)
        name = props.get("LogGroupName") or self.t.physical_name(lid)
        logs = self.client("logs")
        try:
            logs.create_log_group(logGroupName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        if "RetentionInDays" in props:
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(props["RetentionInDays"])
            )
        arn = self.t.arn("logs", f"log-group:{name}:*")
        self.t.register(lid, name, {"Arn": arn})
        self.log(f"created log group {name}")

    # ------------------------------------------------------------------ IAM

    def role(self, lid: str) -> None:
        """The role in the endpoint's IAM (moto), with its inline and managed policies."""
        props = self.t.properties(lid)
        name = props.get("RoleName") or self.t.physical_name(lid)
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
        }
        for key in ("Path", "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"):
            if key in props:
                kwargs[key] = props[key]
        iam = self.client("iam")
        role = iam.create_role(**_as_api_input(iam, "CreateRole", kwargs))["Role"]
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(_versioned(policy["PolicyDocument"])),
            )
        for arn in props.get("ManagedPolicyArns", []):
            register_aws_managed_policy(arn, self.t.account_id)
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        self.t.register(lid, name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})
        self.log(
            f"created role {name} ({len(props.get('Policies', []))} inline, "
            f"{len(props.get('ManagedPolicyArns', []))} managed policies)"
        )

    def _require_assumable(self, role_arn: str, service: str, **details: Any) -> None:
        role = self.client("iam").get_role(RoleName=str(role_arn).split("/")[-1])["Role"]
        trust.require_assumable(
            role, service, region=self.t.region, account_id=self.t.account_id, **details
        )

    # ------------------------------------------------------------------ Lambda

    def layer(self, lid: str) -> None:
        _, layer_spec_cls = _runtime_types()
        props = self.t.properties(lid)
        name = props.get("LayerName") or self.t.physical_name(lid)
        content_dir = self._local_dir(props.get("Content"), lid, "Content")
        arn = self.t.arn("lambda", f"layer:{name}:1")
        self.layers_by_arn[arn] = layer_spec_cls(name=name, content_dir=content_dir)
        self.t.register(lid, arn, {"LayerVersionArn": arn})
        self.log(f"registered layer {name} from {content_dir.relative_to(self.t.base_dir)}")

    def function(self, lid: str) -> None:
        function_spec_cls, _ = _runtime_types()
        props = self.t.properties(lid)
        name = props.get("FunctionName") or self.t.physical_name(lid)
        code_dir = self._local_dir(props.get("Code"), lid, "Code")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        layers = []
        for layer_arn in props.get("Layers", []):
            if layer_arn not in self.layers_by_arn:
                raise TemplateError(f"{lid}: layer {layer_arn} is not defined in this template")
            layers.append(self.layers_by_arn[layer_arn])
        candidates = {
            "name": name,
            "code_dir": code_dir,
            "handler": props.get("Handler"),
            "environment": {k: _text(v) for k, v in variables.items()},
            "memory_mb": int(props.get("MemorySize", 128)),
            "timeout_s": float(props.get("Timeout", 3)),
            "layers": layers,
            "runtime": props.get("Runtime"),
            "architectures": props.get("Architectures"),
            "tracing": (props.get("TracingConfig") or {}).get("Mode"),
            "role": props.get("Role"),
            # LoggingConfig.LogGroup: where the function's logs go instead of /aws/lambda/<name>
            "log_group": (props.get("LoggingConfig") or {}).get("LogGroup"),
        }
        self._require_assumable(props["Role"], "lambda.amazonaws.com")
        spec = function_spec_cls(**_accepted_fields(function_spec_cls, candidates))
        self.local.lambdas.register(spec)
        self.functions[lid] = spec
        self.t.register(lid, name, {"Arn": self.t.arn("lambda", f"function:{name}")})
        self.log(
            f"registered function {name} ({props.get('Handler')}, "
            f"{candidates['memory_mb']} MB, {props.get('Timeout', 3)} s)"
        )

    def _local_dir(self, location: Any, lid: str, prop: str) -> Path:
        path = sam.local_artifact(location, self.t.base_dir)
        if path is None:
            raise TemplateError(f"{lid}.{prop} must be a local folder for the local stack")
        if not path.is_dir():
            raise TemplateError(f"{lid}.{prop}: {path} is not a folder")
        return path

    # ------------------------------------------------------------------ Step Functions

    def state_machine(self, lid: str) -> None:
        props = self.t.properties(lid)
        name = props.get("StateMachineName") or self.t.physical_name(lid)
        text = self._definition_text(lid, props)
        substitutions = props.get("DefinitionSubstitutions") or {}
        for key, value in substitutions.items():
            encoded = json.dumps(_text(value))[1:-1]  # stays valid inside a JSON string
            text = text.replace("${" + key + "}", encoded)
        left = sorted(set(iter_substitutions(text)))
        if left:
            raise TemplateError(f"{lid}: definition placeholders without a substitution: {left}")
        json.loads(text)  # fail here, not at the first execution, if substitution broke it

        sm_type = props.get("StateMachineType", "STANDARD")
        kwargs: dict[str, Any] = {
            "name": name,
            "definition": text,
            "roleArn": props["RoleArn"],
            "type": sm_type,
        }
        logging_config = props.get("LoggingConfiguration")
        if logging_config:
            kwargs["loggingConfiguration"] = _camel_keys(logging_config)
        tracing = props.get("TracingConfiguration")
        if tracing:
            kwargs["tracingConfiguration"] = _camel_keys(tracing)
        self._require_assumable(props["RoleArn"], "states.amazonaws.com")
        sfn = self.client("stepfunctions")
        arn = sfn.create_state_machine(**_as_api_input(sfn, "CreateStateMachine", kwargs))[
            "stateMachineArn"
        ]
        self.t.register(lid, arn, {"Arn": arn, "Name": name})
        level = (logging_config or {}).get("Level", "OFF")
        self.log(
            f"created {sm_type} state machine {name} (logging {level}, "
            f"{len(substitutions)} substitutions)"
        )

    def _definition_text(self, lid: str, props: Mapping[str, Any]) -> str:
        if "DefinitionS3Location" in props:
            path = sam.local_artifact(props["DefinitionS3Location"], self.t.base_dir)
            if path is None:
                raise TemplateError(f"{lid}.DefinitionS3Location must be a local file")
            raw = path.read_text()
            definition = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
            return json.dumps(definition, indent=1)
        if "Definition" in props:
            return json.dumps(props["Definition"], indent=1)
        if "DefinitionString" in props:
            return json.dumps(json.loads(props["DefinitionString"]), indent=1)
        raise TemplateError(f"{lid}: no Definition/DefinitionS3Location/DefinitionString")

    # ------------------------------------------------------------------ Pipes

    def pipe(self, lid: str) -> None:
        props = self.t.properties(lid)
        name = props.get("Name") or self.t.physical_name(lid)
        arn = self.t.arn("pipes", f"pipe/{name}")
        self._require_assumable(
            props["RoleArn"], "pipes.amazonaws.com", source_arn=arn, identifier=name
        )
        definition = PipeDefinition.from_properties(name, arn, props, region=self.t.region)
        self.pipes[lid] = definition
        registered = "kept for the pipe emulator"
        api_args = {
            k: v
            for k, v in props.items()
            if k
            in (
                "Description",
                "DesiredState",
                "Source",
                "SourceParameters",
                "Enrichment",
                "EnrichmentParameters",
                "Target",
                "TargetParameters",
                "RoleArn",
                "Tags",
                "LogConfiguration",
                "KmsKeyIdentifier",
            )
        }
        try:
            pipes = self.client("pipes")
            pipes.create_pipe(**_as_api_input(pipes, "CreatePipe", {"Name": name, **api_args}))
            registered += " and registered in moto's Pipes backend"
        except Exception as exc:  # moto's Pipes backend is optional for the emulator
            registered += f" (moto Pipes refused it: {exc})"
        self.t.register(lid, name, {"Arn": arn, "CurrentState": "RUNNING"})
        self.log(
            f"created pipe {name}: BatchSize {definition.batch_size}, window "
            f"{definition.batching_window_s} s, {definition.invocation_type}; {registered}"
        )

    # ------------------------------------------------------------------ everything else

    def synthesize(self, lid: str, rtype: str) -> None:
        """Not created locally; give it the Ref/GetAtt values AWS would so references resolve."""
        raw = self.t.raw_properties(lid)
        name = None
        for key in (
            "RoleName",
            "TopicName",
            "AlarmName",
            "DashboardName",
            "PolicyName",
            "ManagedPolicyName",
            "GroupName",
            "Name",
        ):
            if key in raw:
                try:
                    name = _text(self.t.resolve(raw[key]))
                except TemplateError:
                    name = None
                break
        name = name or self.t.physical_name(lid)
        service, kind = [*rtype.split("::"), "", ""][1:3]
        service = service.lower()
        attrs: dict[str, Any] = {}
        if rtype == "AWS::IAM::ManagedPolicy":
            ref = f"arn:aws:iam::{self.t.account_id}:policy/{name}"
            attrs = {"PolicyArn": ref}
        elif rtype == "AWS::SNS::Topic":
            ref = self.t.arn("sns", name)
            attrs = {"TopicArn": ref, "TopicName": name}
        else:
            ref = name
            attrs = {"Arn": self.t.arn(service, f"{kind.lower()}/{name}")}
        self.t.register(lid, ref, attrs)
        self.skipped.setdefault(rtype, []).append(lid)


def deploy(
    local: Any,
    template_path: str | Path,
    *,
    stack_name: str,
    parameter_overrides: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> DeployedStack:
    """Create every resource of the template on `local` (a started LocalAWS)."""
    template = Template(
        template_path,
        stack_name=stack_name,
        parameter_overrides=parameter_overrides,
        region=getattr(local, "region", DEFAULT_REGION),
        account_id=getattr(local, "account_id", DEFAULT_ACCOUNT_ID),
    )
    deployer = _Deployer(local, template, log or (lambda _msg: None))
    deployer.run()
    outputs = template.outputs()
    register_stack(
        DeployedStackRecord(
            stack_id=template.stack_id,
            name=stack_name,
            template_body=template.path.read_text(),
            template_dict=template.source_body,
            parameters=template.parameters,
            outputs=outputs,
            resources=[
                StackResource(lid, _text(state.ref), state.type)
                for lid, state in template.created.items()
            ],
            account_id=template.account_id,
            region_name=template.region,
        )
    )
    return DeployedStack(
        stack_name=stack_name,
        region=template.region,
        account_id=template.account_id,
        endpoint_url=local.endpoint_url,
        template=template,
        parameters=dict(template.parameters),
        outputs=outputs,
        physical_ids={lid: s.ref for lid, s in template.created.items()},
        attributes={lid: dict(s.attributes) for lid, s in template.created.items()},
        functions=deployer.functions,
        pipes=deployer.pipes,
        skipped=deployer.skipped,
    )


# ---------------------------------------------------------------------- helpers


def _runtime_types():
    from local_aws.awslambda.runtime import FunctionSpec, LayerSpec

    return FunctionSpec, LayerSpec


def _accepted_fields(cls: Any, candidates: Mapping[str, Any]) -> dict[str, Any]:
    """Pass only what the runtime's spec class declares (optional extras are dropped)."""
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: v for k, v in candidates.items() if k in names and v is not None}
    return {k: v for k, v in candidates.items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _truthy(value: Any) -> bool:
    return _text(value).lower() == "true"


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _tag_map(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {t["Key"]: _text(t["Value"]) for t in tags}
    if isinstance(tags, Mapping):
        return {k: _text(v) for k, v in tags.items()}
    return {}


def _versioned(document: Mapping[str, Any]) -> dict[str, Any]:
    """moto's IAM refuses a policy without Version, which IAM accepts as 2008-10-17 (the
    translator writes such documents for inline `Statement` policies). Without policy variables
    (`${...}`, literal text in 2008-10-17) both versions mean the same, so 2012-10-17 is added."""
    if "Version" in document or "${" in json.dumps(document):
        return dict(document)
    return {"Version": "2012-10-17", **document}


def _as_api_input(client: Any, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Template values are mostly strings (a Ref to a Number parameter is "5"); convert them to
    the types the API operation's input shape declares, as CloudFormation does."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    return _coerce(params, shape)


def _coerce(value: Any, shape: Any) -> Any:
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        return {k: _coerce(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, Mapping):
        return {k: _coerce(v, shape.value) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("double", "float") and isinstance(value, str):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, (bool, int, float)):
        return _text(value)
    return value


def _camel_keys(value: Any) -> Any:
    """CloudFormation's PascalCase (Level, Destinations, ...) to the Step Functions API's
    camelCase (level, destinations, ...)."""
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    if isinstance(value, Mapping):
        return {k[:1].lower() + k[1:]: _camel_keys(v) for k, v in value.items()}
    return value
