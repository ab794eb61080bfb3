"""Read template.yaml the way CloudFormation (with the SAM transform) would, for the local stack.

The template is decoded by cfn-lint's decoder (it understands `!Ref`, `!GetAtt`, `!Sub`, ...),
and a SAM template is transformed by aws-sam-translator (`sam.transform`: Globals, generated
roles and policies, layer versions and their logical ids are the translator's). Then this module
resolves what CloudFormation resolves at deploy time:

- Parameters: defaults, overridden by `parameter_overrides` (checked against AllowedValues);
- Conditions: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`;
- Intrinsics: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::If`, `Fn::Select`, `Fn::Split`,
  `Fn::FindInMap`, `Fn::Base64`, `Fn::GetAZs`, `Fn::ToJsonString`, `Fn::Length`, pseudo
  parameters and `AWS::NoValue`, against the resources created so far (see `register`);
- Physical names: a resource with no explicit name gets one shaped like CloudFormation's
  (`<stack>-<LogicalId>-<SUFFIX>`, FIFO queues ending in `.fifo`, state machines
  `<LogicalId>-<SUFFIX>`). The suffix is derived from the stack and logical id instead of being
  random, so a restarted local stack keeps its names (commands pasted earlier keep working).

Nothing here knows about this project's resources: every name, variable and setting comes from
the template.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from local_aws.cloudformation import sam
from local_aws.config import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

_NO_VALUE = object()  # what `Ref: AWS::NoValue` resolves to; removed from its parent
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# Longest physical name each resource type accepts (CloudFormation truncates to fit).
_NAME_LIMITS = {
    "AWS::SQS::Queue": 80,
    "AWS::DynamoDB::Table": 255,
    "AWS::Logs::LogGroup": 512,
    "AWS::Lambda::Function": 64,
    "AWS::StepFunctions::StateMachine": 80,
    "AWS::Pipes::Pipe": 64,
    "AWS::IAM::Role": 64,
    "AWS::SNS::Topic": 256,
    "AWS::CloudWatch::Alarm": 255,
    "AWS::CloudWatch::Dashboard": 255,
}
_NAMED_BY_LOGICAL_ID = {"AWS::StepFunctions::StateMachine"}


class TemplateError(Exception):
    """The template cannot be decoded, or a value in it cannot be resolved locally."""


class NotYetCreated(TemplateError):
    """A Ref/GetAtt names a resource that has not been registered yet (dependency order bug)."""


@dataclass
class ResourceState:
    """What CloudFormation would return for a created resource: its Ref and its attributes."""

    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


def load_template_body(path: str | Path) -> dict[str, Any]:
    """Decode a CloudFormation/SAM template with cfn-lint's decoder into plain dicts and lists."""
    body, matches = decode(str(path))
    if body is None or matches:
        details = "; ".join(str(m) for m in matches) or "empty template"
        raise TemplateError(f"cannot decode {path}: {details}")
    return _plain(body)


def _plain(value: Any) -> Any:
    """cfn-lint returns str/dict/list subclasses that carry line marks; keep only the data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


class Template:
    """One template, resolved for one stack name, region, account and set of parameter values."""

    def __init__(
        self,
        path: str | Path,
        *,
        stack_name: str,
        parameter_overrides: Mapping[str, Any] | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        self.path = Path(path).resolve()
        self.base_dir = self.path.parent
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.source_body = load_template_body(self.path)
        self.body = self.source_body
        self.stack_id = (
            f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/"
            f"{self._suffix('stack-id', 32).lower()}"
        )
        self.parameters = self._resolve_parameters(dict(parameter_overrides or {}))
        if sam.has_sam_transform(self.source_body):
            # What CloudFormation deploys: the transformed template, with the parameter values.
            try:
                self.body = sam.transform(self.source_body, self.parameters, region=region)
            except sam.TransformError as exc:
                raise TemplateError(str(exc)) from exc
        self._condition_cache: dict[str, bool] = {}
        self.conditions = {name: self.condition(name) for name in self.body.get("Conditions", {})}
        self.resources = self._expand_resources()
        self.created: dict[str, ResourceState] = {}

    # ------------------------------------------------------------------ parameters, conditions

    def _resolve_parameters(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared = self.body.get("Parameters", {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(
                f"unknown parameter(s) {unknown}; the template declares {sorted(declared)}"
            )
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                raw = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
            values[name] = self._typed_parameter(name, spec, raw)
        return values

    @staticmethod
    def _typed_parameter(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
        ptype = spec.get("Type", "String")
        if ptype in ("CommaDelimitedList", "List<Number>") or ptype.startswith("List<"):
            items = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]
            return [str(i) for i in items]
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        allowed = spec.get("AllowedValues")
        if allowed is not None and text not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
        if ptype == "Number":
            number = float(text)
            too_low = "MinValue" in spec and number < float(spec["MinValue"])
            too_high = "MaxValue" in spec and number > float(spec["MaxValue"])
            if too_low or too_high:
                bound = "MinValue" if too_low else "MaxValue"
                raise TemplateError(f"parameter {name}={text} violates {bound} {spec[bound]}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, text):
            raise TemplateError(f"parameter {name}={text!r} does not match {pattern}")
        return text  # CloudFormation hands parameter values over as strings

    def condition(self, name: str) -> bool:
        if name not in self._condition_cache:
            conditions = self.body.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._condition_cache[name] = bool(self._evaluate_condition(conditions[name]))
        return self._condition_cache[name]

    def _evaluate_condition(self, expr: Any) -> bool:
        if isinstance(expr, Mapping) and len(expr) == 1:
            key, arg = next(iter(expr.items()))
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return _scalar_text(left) == _scalar_text(right)
            if key == "Fn::Not":
                return not self._evaluate_condition(arg[0])
            if key == "Fn::And":
                return all(self._evaluate_condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self._evaluate_condition(a) for a in arg)
        value = self.resolve(expr)
        if isinstance(value, bool):
            return value
        return str(value).lower() == "true"

    # ------------------------------------------------------------------ resources

    def _expand_resources(self) -> dict[str, dict[str, Any]]:
        """Resources whose Condition holds."""
        out: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self.body.get("Resources", {}).items():
            cond = resource.get("Condition")
            if cond is not None and not self.condition(cond):
                continue
            rtype = resource["Type"]
            props = dict(resource.get("Properties", {}))
            depends = resource.get("DependsOn", [])
            out[logical_id] = {
                "Type": rtype,
                "Properties": props,
                "DependsOn": [depends] if isinstance(depends, str) else list(depends),
            }
        return out

    def resources_of_type(self, *types: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r["Type"] in types]

    def resource_type(self, logical_id: str) -> str:
        return self.resources[logical_id]["Type"]

    def raw_properties(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id]["Properties"]

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's Properties with every intrinsic resolved."""
        return self.resolve(self.raw_properties(logical_id))

    def dependencies(self, logical_id: str) -> set[str]:
        resource = self.resources[logical_id]
        deps = set(resource["DependsOn"])
        deps |= self._references(resource["Properties"])
        return {d for d in deps if d in self.resources and d != logical_id}

    def creation_order(self) -> list[str]:
        """Logical ids in an order where each resource comes after everything it references
        (template order is kept among independent resources)."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(lid: str, path: list[str]) -> None:
            if state.get(lid) == "done":
                return
            if state.get(lid) == "visiting":
                raise TemplateError("circular dependency: " + " -> ".join([*path, lid]))
            state[lid] = "visiting"
            for dep in sorted(self.dependencies(lid), key=list(self.resources).index):
                visit(dep, [*path, lid])
            state[lid] = "done"
            order.append(lid)

        for lid in self.resources:
            visit(lid, [])
        return order

    def _references(self, value: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(value, list):
            for v in value:
                found |= self._references(v)
        elif isinstance(value, Mapping):
            for key, arg in value.items():
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                    found.add(target)
                elif key == "Fn::Sub":
                    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                    for name in _SUB_VARIABLE.findall(text):
                        if not name.startswith("!") and name not in variables:
                            found.add(name.split(".", 1)[0])
                    found |= self._references(variables)
                else:
                    found |= self._references(arg)
        return found

    def register(self, logical_id: str, ref: Any, attributes: Mapping[str, Any] | None = None):
        """Record a created resource so later Ref/GetAtt resolve to it."""
        state = ResourceState(
            logical_id, self.resources[logical_id]["Type"], ref, dict(attributes or {})
        )
        self.created[logical_id] = state
        return state

    # ------------------------------------------------------------------ names

    def _suffix(self, logical_id: str, length: int = 12) -> str:
        digest = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).digest()
        return "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:length])

    def physical_name(self, logical_id: str, *, fifo: bool = False) -> str:
        """A CloudFormation-shaped generated name for a resource that does not name itself."""
        rtype = self.resources[logical_id]["Type"] if logical_id in self.resources else ""
        limit = _NAME_LIMITS.get(rtype, 128)
        tail = ".fifo" if fifo else ""
        suffix = self._suffix(logical_id)
        if rtype in _NAMED_BY_LOGICAL_ID:
            head_parts = [logical_id]
        else:
            head_parts = [self.stack_name, logical_id]
        room = limit - len(tail) - len(suffix) - len(head_parts)  # one '-' per part
        if sum(len(p) for p in head_parts) > room:
            # CloudFormation shortens the stack name and the logical id, keeping the suffix.
            share = max(1, room // len(head_parts))
            head_parts = [p[:share] for p in head_parts]
        return "-".join([*head_parts, suffix]) + tail

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    # ------------------------------------------------------------------ intrinsics

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function in value (recursively)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [i for i in items if i is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.created:
            return self.created[name].ref
        if name in self.resources:
            raise NotYetCreated(f"Ref {name}: resource not created yet")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id in self.created:
            attrs = self.created[logical_id].attributes
            if attribute in attrs:
                return attrs[attribute]
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: the local stack knows only {sorted(attrs)}"
            )
        if logical_id in self.resources:
            raise NotYetCreated(f"GetAtt {logical_id}.{attribute}: resource not created yet")
        raise TemplateError(f"GetAtt {logical_id}.{attribute}: no such resource")

    def outputs(self) -> dict[str, Any]:
        out = {}
        for name, spec in self.body.get("Outputs", {}).items():
            cond = spec.get("Condition")
            if cond is not None and not self.condition(cond):
                continue
            out[name] = self.resolve(spec["Value"])
        return out


# ---------------------------------------------------------------------- intrinsic handlers


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _fn_ref(t: Template, arg: Any) -> Any:
    return t.ref(t.resolve(arg) if isinstance(arg, Mapping) else arg)


def _fn_get_att(t: Template, arg: Any) -> Any:
    if isinstance(arg, str):
        logical_id, attribute = arg.split(".", 1)
    else:
        logical_id, attribute = arg[0], t.resolve(arg[1])
    return t.get_att(logical_id, attribute)


def _fn_sub(t: Template, arg: Any) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    values = {k: t.resolve(v) for k, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            return _scalar_text(values[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _scalar_text(t.get_att(logical_id, attribute))
        return _scalar_text(t.ref(name))

    return _SUB_VARIABLE.sub(replace, text)


def _fn_join(t: Template, arg: Any) -> str:
    delimiter, items = arg
    return str(delimiter).join(_scalar_text(i) for i in _as_list(t.resolve(items)))


def _fn_select(t: Template, arg: Any) -> Any:
    index, items = arg
    return _as_list(t.resolve(items))[int(t.resolve(index))]


def _fn_split(t: Template, arg: Any) -> list[str]:
    delimiter, text = arg
    return str(t.resolve(text)).split(delimiter)


def _fn_if(t: Template, arg: Any) -> Any:
    name, when_true, when_false = arg
    return t.resolve(when_true if t.condition(name) else when_false)


def _fn_find_in_map(t: Template, arg: Any) -> Any:
    map_name, top, second = (t.resolve(a) for a in arg[:3])
    return t.resolve(t.body["Mappings"][map_name][top][second])


def _fn_unsupported(name: str):
    def handler(t: Template, arg: Any) -> Any:
        raise TemplateError(f"{name} cannot be resolved by the local stack")

    return handler


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise TemplateError(f"expected a list, got {value!r}")


_INTRINSICS = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Equals": lambda t, arg: t._evaluate_condition({"Fn::Equals": arg}),
    "Fn::Not": lambda t, arg: t._evaluate_condition({"Fn::Not": arg}),
    "Fn::And": lambda t, arg: t._evaluate_condition({"Fn::And": arg}),
    "Fn::Or": lambda t, arg: t._evaluate_condition({"Fn::Or": arg}),
    "Condition": lambda t, arg: t.condition(arg),
    "Fn::Base64": lambda t, arg: base64.b64encode(str(t.resolve(arg)).encode()).decode(),
    "Fn::GetAZs": lambda t, arg: [f"{t.region}{z}" for z in "abcdef"],
    "Fn::ToJsonString": lambda t, arg: json.dumps(t.resolve(arg), separators=(",", ":")),
    "Fn::Length": lambda t, arg: len(_as_list(t.resolve(arg))),
    "Fn::ImportValue": _fn_unsupported("Fn::ImportValue"),
    "Fn::Cidr": _fn_unsupported("Fn::Cidr"),
}


def iter_substitutions(text: str) -> Iterable[str]:
    """The `${Name}` placeholders in a text (used to check DefinitionSubstitutions)."""
    return (m for m in _SUB_VARIABLE.findall(text) if not m.startswith("!"))
