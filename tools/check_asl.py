"""Validate every state machine definition file that template.yaml points to.

cfn-lint validates a state machine definition only when it is written inline in an
AWS::StepFunctions::StateMachine (rule E3601); SAM's `DefinitionUri` is a file, so this tool builds
a throwaway plain CloudFormation template that inlines each definition (with its
DefinitionSubstitutions) and lints that. It then parses each definition with moto's ASL parser
(the interpreter the local stack runs), so a construct that parser cannot handle fails here too.

Usage: python tools/check_asl.py [template.yaml]   (exit status 1 on any finding)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cfnlint.api import lint
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent


def state_machines(template_path: Path) -> list[tuple[str, Path, dict]]:
    """(logical id, definition file, DefinitionSubstitutions) of each SAM state machine."""
    template, matches = decode(str(template_path))
    if matches:
        raise SystemExit("\n".join(str(m) for m in matches))
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if isinstance(uri, str):
            found.append(
                (logical_id, template_path.parent / uri, props.get("DefinitionSubstitutions", {}))
            )
    return found


def inline_template(logical_id: str, definition: dict, substitutions: dict) -> str:
    """A plain CloudFormation template whose only resource inlines the definition."""
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                logical_id: {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {
                        "StateMachineType": "EXPRESS",
                        "RoleArn": "arn:aws:iam::123456789012:role/check-asl",
                        "Definition": definition,
                        # Values do not matter to E3601; the keys tell it which ${...} are known.
                        "DefinitionSubstitutions": {key: "placeholder" for key in substitutions},
                    },
                }
            },
        },
        indent=2,
    )


def moto_parse_error(definition_text: str) -> str | None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        AmazonStateLanguageParser.parse(definition_text)
    except Exception as exc:  # the parser raises several exception types
        return f"{type(exc).__name__}: {exc}"
    return None


def main(argv: list[str]) -> int:
    template_path = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    machines = state_machines(template_path)
    if not machines:
        print(f"{template_path}: no AWS::Serverless::StateMachine with a DefinitionUri file")
        return 1
    failed = False
    for logical_id, path, substitutions in machines:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        text = path.read_text(encoding="utf-8")
        definition = json.loads(text)
        findings = lint(inline_template(logical_id, definition, substitutions))
        for finding in findings:
            print(f"{shown}: {finding.rule.id} {finding.message}")
        failed |= bool(findings)
        print(
            f"{shown} ({logical_id}): cfn-lint E3601 on the inlined definition: "
            f"{len(findings)} finding(s)"
        )
        # moto's parser needs the ${...} placeholders replaced by plausible values.
        concrete = text
        for key in substitutions:
            concrete = concrete.replace("${" + key + "}", _sample_value(key))
        error = moto_parse_error(concrete)
        if error:
            print(f"{shown}: moto ASL parser: {error}")
            failed = True
        else:
            print(f"{shown} ({logical_id}): moto ASL parser accepts it")
    return 1 if failed else 0


def _sample_value(key: str) -> str:
    if key.endswith("FunctionArn"):
        return f"arn:aws:lambda:us-east-1:123456789012:function:{key}"
    if key.endswith("QueueUrl"):
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{key}.fifo"
    return key


if __name__ == "__main__":
    sys.exit(main(sys.argv))
