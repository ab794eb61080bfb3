"""The machine checks themselves: cfn-lint on template.yaml and on its SAM transform, the ASL
validation, and the worst-case table in docs/workflow.md."""

from __future__ import annotations

import json
from pathlib import Path

import check_asl
import lint_transformed
import pytest
import worst_case
from cfnlint.api import lint
from workflow_files import ROOT, TEMPLATE_PATH, placeholders

DOC_PATH = ROOT / "docs" / "workflow.md"
PIPE_BUDGET_SECONDS = 300


def test_cfn_lint_is_clean_on_the_template():
    findings = lint(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert [f"{f.rule.id} {f.message}" for f in findings] == []


def test_asl_check_passes(capsys):
    assert check_asl.main(["check_asl.py", str(TEMPLATE_PATH)]) == 0
    assert "moto ASL parser accepts it" in capsys.readouterr().out


def broken_copy(tmp_path: Path, field: str, value: object) -> Path:
    """template.yaml beside a definition whose Save retrier has `field` set to `value`."""
    broken = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())
    states = broken["States"]["ProcessBatch"]["ItemProcessor"]["States"]
    states["Save"]["Retry"][0][field] = value
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(json.dumps(broken))
    (tmp_path / "template.yaml").write_text(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return tmp_path / "template.yaml"


def test_asl_check_catches_what_moto_cannot_parse(tmp_path, capsys):
    # cfn-lint's E3601 schema accepts any JitterStrategy string; moto's grammar only FULL/NONE.
    template = broken_copy(tmp_path, "JitterStrategy", "SOMETIMES")
    assert check_asl.main(["check_asl.py", str(template)]) == 1
    assert "moto ASL parser" in capsys.readouterr().out


# ------------------------------------------------------------- cfn-lint on the SAM transform


@pytest.fixture(scope="module")
def transformed() -> dict:
    return lint_transformed.transform(TEMPLATE_PATH)


def test_the_transformed_template_is_lint_clean(transformed):
    assert lint_transformed.findings(transformed) == []


def test_the_transform_generates_the_roles_functions_layer_and_inline_definition(transformed):
    types = {lid: r["Type"] for lid, r in transformed["Resources"].items()}
    for name in ("ValidateFunction", "CheckIdempotencyFunction", "SaveFunction", "DeleteFunction"):
        assert types[name] == "AWS::Lambda::Function"
        assert types[f"{name}Role"] == "AWS::IAM::Role"
    assert types["PipelineStateMachineRole"] == "AWS::IAM::Role"
    assert "AWS::Lambda::LayerVersion" in types.values()
    machine = transformed["Resources"]["PipelineStateMachine"]["Properties"]
    asl = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())
    assert machine["Definition"] == asl and "DefinitionString" not in machine
    assert set(machine["DefinitionSubstitutions"]) == placeholders(json.dumps(asl))


def test_the_managed_policy_map_is_exactly_what_sam_attaches(transformed):
    assert lint_transformed.managed_policy_arns(transformed) == set(
        lint_transformed.MANAGED_POLICIES.values()
    )


def test_e3601_sees_a_broken_definition_through_the_transform(tmp_path, capsys):
    template = broken_copy(tmp_path, "MaxAttempts", "three")
    assert lint_transformed.main(["lint_transformed.py", str(template)]) == 1
    out = capsys.readouterr().out
    assert "E3601 'three' is not of type 'number'" in out
    assert "Definition/States/ProcessBatch/ItemProcessor/States/Save/Retry/0/MaxAttempts" in out


def test_a_managed_policy_missing_from_the_map_is_a_finding(transformed):
    role = transformed["Resources"]["ValidateFunctionRole"]["Properties"]
    changed = json.loads(json.dumps(transformed))
    arns = changed["Resources"]["ValidateFunctionRole"]["Properties"]["ManagedPolicyArns"]
    arns.append("arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    assert role["ManagedPolicyArns"] != arns
    assert lint_transformed.findings(changed) == [
        "managed policy arn:aws:iam::aws:policy/AmazonSQSFullAccess is not in MANAGED_POLICIES"
    ]


def test_one_message_fits_the_execution_timeout_which_fits_the_pipe_budget():
    asl, template = worst_case.load(TEMPLATE_PATH)
    item, _path = worst_case.longest_path(asl, worst_case.task_budgets(asl, template))
    assert item < asl["TimeoutSeconds"] <= 0.8 * PIPE_BUDGET_SECONDS


def test_the_documented_worst_case_table_is_current():
    asl, template = worst_case.load(TEMPLATE_PATH)
    assert worst_case.table(asl, template) in DOC_PATH.read_text(encoding="utf-8")


def test_the_translator_is_the_one_aws_sam_cli_pins():
    def pinned(path: Path, name: str) -> str:
        [line] = [x for x in path.read_text().splitlines() if x.startswith(f"{name}==")]
        return line.split("==", 1)[1]

    dev = pinned(ROOT / "requirements-dev.txt", "aws-sam-translator")
    assert dev == pinned(ROOT / "requirements-deploy.txt", "aws-sam-translator")
