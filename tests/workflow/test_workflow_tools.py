"""The machine checks themselves: cfn-lint on template.yaml, the ASL validation, and the
worst-case table in docs/workflow.md."""

from __future__ import annotations

import json

import check_asl
import worst_case
from cfnlint.api import lint
from conftest import ROOT, TEMPLATE_PATH

DOC_PATH = ROOT / "docs" / "workflow.md"
PIPE_BUDGET_SECONDS = 300


def test_cfn_lint_is_clean_on_the_template():
    findings = lint(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert [f"{f.rule.id} {f.message}" for f in findings] == []


def test_asl_check_passes(capsys):
    assert check_asl.main(["check_asl.py", str(TEMPLATE_PATH)]) == 0
    out = capsys.readouterr().out
    assert "0 finding(s)" in out and "moto ASL parser accepts it" in out


def test_asl_check_catches_a_broken_definition(tmp_path, capsys):
    broken = json.loads((ROOT / "statemachine" / "pipeline.asl.json").read_text())
    states = broken["States"]["ProcessBatch"]["ItemProcessor"]["States"]
    states["Save"]["Retry"][0]["JitterStrategy"] = "SOMETIMES"
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(json.dumps(broken))
    (tmp_path / "template.yaml").write_text(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert check_asl.main(["check_asl.py", str(tmp_path / "template.yaml")]) == 1
    out = capsys.readouterr().out
    assert "E3601" in out and "moto ASL parser" in out


def test_one_message_fits_the_execution_timeout_which_fits_the_pipe_budget():
    asl, template = worst_case.load(TEMPLATE_PATH)
    item, _path = worst_case.longest_path(asl, worst_case.task_budgets(asl, template))
    assert item < asl["TimeoutSeconds"] <= 0.8 * PIPE_BUDGET_SECONDS


def test_the_documented_worst_case_table_is_current():
    asl, template = worst_case.load(TEMPLATE_PATH)
    assert worst_case.table(asl, template) in DOC_PATH.read_text(encoding="utf-8")
