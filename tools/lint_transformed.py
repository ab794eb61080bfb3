"""cfn-lint on the CloudFormation that SAM generates from template.yaml, offline.

cfn-lint 1.58 no longer runs the SAM transform, so on template.yaml it never sees the generated
roles, functions, layer version and state machine. This tool transforms the template with
aws-sam-translator (the version aws-sam-cli pins) and lints the result:
- local code paths (CodeUri, ContentUri) become placeholder S3 locations, as `sam package` would
  make them;
- each DefinitionUri file is inlined as Definition, and the DefinitionString SAM generates from it
  is parsed back into a Definition object, so cfn-lint's E3601 validates the state machine
  definition on the resource SAM really creates (with its DefinitionSubstitutions);
- the translator resolves AWS managed policy names through IAM (ManagedPolicyLoader), which needs
  credentials and the network; it gets MANAGED_POLICIES instead, and every managed policy ARN in
  the result must be one of them, so the map cannot silently fall behind.

Usage: python tools/lint_transformed.py [template.yaml]   (exit status 1 on any finding)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
from cfnlint.api import lint
from samtranslator.metrics.metrics import Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"  # any region: pseudo parameters only
PLACEHOLDER_BUCKET = "lint-placeholder-bucket"
# The AWS managed policies SAM attaches to the generated roles (AWSLambdaBasicExecutionRole to
# every function role, AWSXrayWriteOnlyAccess where Tracing is on): name -> ARN, from the one map
# the local deploy uses too (with the documents).
MANAGED_POLICIES = {
    name: policy["Arn"]
    for name, policy in json.loads(
        (ROOT / "local_aws" / "cloudformation" / "managed_policies.json").read_text()
    )["policies"].items()
}
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def prepare(template: dict[str, Any], base: Path) -> dict[str, Any]:
    """The template as SAM receives it after `sam package`, with definitions inlined."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        prop = CODE_PROPERTIES.get(resource["Type"])
        if prop and isinstance(props.get(prop), str):
            props[prop] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
        uri = props.get("DefinitionUri")
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            props["Definition"] = json.loads((base / uri).read_text(encoding="utf-8"))
            del props["DefinitionUri"]
    return template


def inline_definitions(output: dict[str, Any]) -> None:
    """Turn SAM's DefinitionString (an Fn::Join of JSON text) back into a Definition object."""
    for resource in output["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = resource["Properties"]
        joined = props.get("DefinitionString")
        if isinstance(joined, dict) and "Fn::Join" in joined:
            separator, parts = joined["Fn::Join"]
            if all(isinstance(p, str) for p in parts):
                props["Definition"] = json.loads(separator.join(parts))
                del props["DefinitionString"]


def managed_policy_arns(output: dict[str, Any]) -> set[str]:
    found = set()
    for resource in output["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for arn in resource["Properties"].get("ManagedPolicyArns", []):
                found.add(arn if isinstance(arn, str) else json.dumps(arn))
    return found


def transform(template_path: Path) -> dict[str, Any]:
    template = prepare(yaml_parse(template_path.read_text(encoding="utf-8")), template_path.parent)
    metrics = Metrics()
    translator = Translator(
        managed_policy_map=MANAGED_POLICIES,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=REGION),
        metrics=metrics,
    )
    output = translator.translate(
        sam_template=template,
        parameter_values={},
        get_managed_policy_map=lambda: MANAGED_POLICIES,
    )
    metrics.publish()  # to the translator's no-op publisher: nothing leaves the machine
    inline_definitions(output)
    return output


def findings(output: dict[str, Any]) -> list[str]:
    """cfn-lint findings on the transformed template, and managed policies missing from the map."""
    found = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in lint(json.dumps(output))
    ]
    for arn in sorted(managed_policy_arns(output) - set(MANAGED_POLICIES.values())):
        found.append(f"managed policy {arn} is not in MANAGED_POLICIES")
    return found


def main(argv: list[str]) -> int:
    template_path = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    output = transform(template_path)
    problems = findings(output)
    for problem in problems:
        print(f"{template_path.name} (SAM-transformed): {problem}")
    machines = [r for r in output["Resources"].values() if "Definition" in r.get("Properties", {})]
    print(
        f"{template_path.name}: SAM transform -> {len(output['Resources'])} resources, "
        f"{len(machines)} state machine definition(s) inlined; cfn-lint: {len(problems)} finding(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
