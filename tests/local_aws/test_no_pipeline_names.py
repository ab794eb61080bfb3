"""local_aws is a generic local AWS: no module of it names this pipeline.

The names are read from the pipeline's own sources (template.yaml's resources and metrics
namespace, the state machine's states and definition substitutions, the layer's metric names,
the stack name the pipeline's tools deploy as),
so a name added to the pipeline is checked without editing this test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cfnlint.decode import decode

from pipeline_tools.contract import METRIC_NAMES, STACK_NAME

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "local_aws"


def _states(definition: dict) -> set[str]:
    names = set()
    for name, state in definition.get("States", {}).items():
        names.add(name)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                names |= _states(state[key])
        for branch in state.get("Branches", []):
            names |= _states(branch)
    return names


def pipeline_names() -> set[str]:
    template, matches = decode(str(ROOT / "template.yaml"))
    assert template is not None, matches
    names = set(template["Resources"]) | set(METRIC_NAMES) | {STACK_NAME}
    names.add(template["Parameters"]["MetricsNamespace"]["Default"])
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::StateMachine":
            names |= set(props.get("DefinitionSubstitutions", {}))
            definition = json.loads((ROOT / props["DefinitionUri"]).read_text())
            names |= _states(definition)
    return names


def test_the_names_are_read_from_the_pipeline():
    names = pipeline_names()
    # a few of each kind, so that a broken reader cannot make the test below pass vacuously
    assert {"SaveFunction", "MessagesQueue", "ProcessBatch", "QuarantineMessage"} <= names
    assert {"MessagesPipeline", "MessagesSaved", "SQSDeleteError", "sqs-fifo-pipeline"} <= names


def test_no_module_of_local_aws_names_the_pipeline():
    names = pipeline_names()
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    found = {}
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not path.is_file() or path.suffix not in (".py", ".txt", ".json"):
            continue
        hits = sorted(set(pattern.findall(path.read_text(encoding="utf-8"))))
        if hits:
            found[relative] = hits
    assert found == {}, f"local_aws names the pipeline: {found}"
