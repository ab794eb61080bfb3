"""This pipeline's Step Functions Local mock configuration (statemachine/test/MockConfigFile.json)
and the workflow it mocks, on top of the generic loader in local_aws.stepfunctions.mock_config.

    python -m pipeline_tools.mock_config check [PATH]  # validate the file against the ASL
    python -m pipeline_tools.mock_config definition    # the ASL, substitutions filled in
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from local_aws.cloudformation.template import load_template_body
from local_aws.config import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from local_aws.stepfunctions.mock_config import ENV_VAR, MockConfig, MockConfigError
from local_aws.stepfunctions.mock_config import load as load_file
from pipeline_tools.contract import REPO_ROOT, TEMPLATE_PATH

MOCK_CONFIG_PATH = REPO_ROOT / "statemachine" / "test" / "MockConfigFile.json"
ASL_PATH = REPO_ROOT / "statemachine" / "pipeline.asl.json"
# The StateMachines entry of the file: the state machine's logical id in template.yaml (a
# deployed machine is `<LogicalId>-<SUFFIX>`, which the loader maps back to this entry).
STATE_MACHINE_NAME = "PipelineStateMachine"


def load(path: str | os.PathLike[str] | None = None) -> MockConfig:
    """`path`, else `$SFN_MOCK_CONFIG`, else this repository's MockConfigFile.json."""
    if path is None and not os.environ.get(ENV_VAR):
        path = MOCK_CONFIG_PATH
    return load_file(path)


def pipeline_definition(
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    asl_path: Path = ASL_PATH,
    **overrides: str,
) -> str:
    """statemachine/pipeline.asl.json with its `${...}` substitutions filled with placeholder
    values of the right shape (for Step Functions Local, or any run where every Task is mocked):
    `${<Name>FunctionArn}` -> the ARN of function `<Name>Function`, `${<Name>QueueUrl}` -> a queue
    URL, `${MetricsNamespace}` -> the template's default. `overrides` win.
    A deployed stack uses the template's real values instead (local_aws deploy / SAM)."""
    text = asl_path.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for name in sorted(set(re.findall(r"\$\{([^}]+)\}", text))):
        if name in overrides:
            values[name] = overrides[name]
        elif name.endswith("FunctionArn"):
            values[name] = f"arn:aws:lambda:{region}:{account_id}:function:{name[: -len('Arn')]}"
        elif name.endswith("QueueUrl"):
            queue = re.sub(r"(?<!^)(?=[A-Z])", "-", name[: -len("QueueUrl")]).lower()
            values[name] = f"https://sqs.{region}.amazonaws.com/{account_id}/{queue}.fifo"
        elif name == "MetricsNamespace":
            # The template's own default, not a second copy of it.
            parameters = load_template_body(TEMPLATE_PATH)["Parameters"]
            values[name] = str(parameters[name]["Default"])
        else:
            raise MockConfigError(f"{asl_path}: no placeholder value for ${{{name}}}")
    for name, value in values.items():
        text = text.replace("${" + name + "}", json.dumps(value)[1:-1])
    json.loads(text)
    return text


def check(path: str | None) -> int:
    """Validate the file and its mocked state names against the ASL; 0 when it is sound."""
    try:
        config = load(path)
    except MockConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    text = ASL_PATH.read_text(encoding="utf-8")
    problems = [
        problem
        for machine in config.state_machine_names()
        for problem in config.problems_with(machine, re.sub(r"\$\{[^}]+\}", "x", text))
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        cases = sum(len(config.test_cases(m)) for m in config.state_machine_names())
        print(
            f"{config.source}: {cases} test case(s), {len(config.responses)} mocked responses: ok"
        )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline_tools.mock_config")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser(
        "check", help="validate a mock configuration against the ASL"
    )
    check_parser.add_argument("path", nargs="?", help=f"default: ${ENV_VAR} or {MOCK_CONFIG_PATH}")
    definition = commands.add_parser("definition", help="print the ASL, substitutions filled in")
    definition.add_argument("--region", default=DEFAULT_REGION)
    definition.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    args = parser.parse_args(argv)
    if args.command == "definition":
        print(pipeline_definition(args.region, args.account_id))
        return 0
    return check(args.path)


if __name__ == "__main__":
    sys.exit(main())
