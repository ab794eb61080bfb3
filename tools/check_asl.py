"""Parse every state machine definition file that template.yaml points to with moto's ASL parser.

moto's parser is the interpreter the local stack runs, so a construct it cannot handle fails here
rather than in a test run. AWS's own rules (cfn-lint E3601) are checked on the resource SAM
generates, by tools/lint_transformed.py.

Usage: python tools/check_asl.py [template.yaml]   (exit status 1 on any finding)
"""

from __future__ import annotations

import sys
from pathlib import Path

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
