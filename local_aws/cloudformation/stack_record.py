"""The deployed stack in moto's CloudFormation backend, so the CloudFormation API answers for it.

Why moto's backend and not a front of our own: moto already serves DescribeStacks,
ListStackResources, DescribeStackResource(s), GetTemplate, ListStacks and their errors in the
query wire format; registering the stack there keeps one serializer. Why a subclass: moto's own
`Stack.__init__` builds a ResourceMap that creates every resource in moto's backends when it is
first read, and the local deployer has created them already (some, like functions, in the local
Lambda runtime, which moto cannot). So this record answers from the deployer's results: logical
id, physical id (the Ref value, as CloudFormation reports it), type, parameters, outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.models import Stack, cloudformation_backends
from moto.core.utils import utcnow


@dataclass
class StackResource:
    logical_resource_id: str
    physical_resource_id: str
    cf_resource_type: str


class DeployedStackRecord(Stack):
    # Deliberately not calling Stack.__init__ (see the module docstring).
    def __init__(
        self,
        *,
        stack_id: str,
        name: str,
        template_body: str,
        template_dict: Mapping[str, Any],
        parameters: Mapping[str, Any],
        outputs: Mapping[str, Any],
        resources: list[StackResource],
        account_id: str,
        region_name: str,
    ) -> None:
        self.stack_id = stack_id
        self.name = name
        self.account_id = account_id
        self.region_name = region_name
        self.template = template_body  # GetTemplate's default stage: Original
        self.template_dict = dict(template_dict)
        self.description = self.template_dict.get("Description")
        self.parameters = {k: _text(v) for k, v in parameters.items()}
        self.notification_arns: list[str] = []
        self.role_arn = None
        self.tags: dict[str, str] = {}
        self.events: list[Any] = []
        self.timeout_in_minutes = None
        self.policy = ""
        self.cross_stack_resources: dict[str, Any] = {}
        self.enable_termination_protection = False
        self.custom_resources: dict[str, Any] = {}
        self.creation_time = utcnow()
        self.status = "CREATE_COMPLETE"
        self.disable_rollback = False
        self._outputs = {k: _text(v) for k, v in outputs.items()}
        self._output_descriptions = {
            k: spec.get("Description") for k, spec in self.template_dict.get("Outputs", {}).items()
        }
        self._resources = resources

    @property
    def parameter_list(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()]

    @property
    def stack_parameters(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(self.parameters)

    @property
    def stack_resources(self) -> list[StackResource]:  # type: ignore[override]
        return list(self._resources)

    @property
    def outputs(self) -> list[dict[str, Any]] | None:  # type: ignore[override]
        listed = [
            {"OutputKey": k, "OutputValue": v, "Description": self._output_descriptions.get(k)}
            for k, v in self._outputs.items()
        ]
        return listed or None

    @property
    def exports(self) -> list[Any]:  # type: ignore[override]
        return []

    def delete(self) -> None:
        # The local resources stay (the endpoint keeps serving them); only the record goes.
        self.status = "DELETE_COMPLETE"


def register_stack(record: DeployedStackRecord) -> None:
    """Put the record in moto's backend (replacing an earlier stack of the same name)."""
    backend = cloudformation_backends[record.account_id][record.region_name]
    for stack_id, stack in list(backend.stacks.items()):
        if stack.name == record.name:
            del backend.stacks[stack_id]
    backend.stacks[record.stack_id] = record


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)
