"""Paths of the workflow's files and a placeholder parser, for tests/workflow (imported by name:
pytest's `pythonpath` in pyproject.toml puts this folder on sys.path)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "pipeline.asl.json"
TEMPLATE_PATH = ROOT / "template.yaml"
ERRORS_PATH = ROOT / "lambdas" / "common" / "pipeline_common" / "errors.py"


def placeholders(text: str) -> set[str]:
    """The ${Name} definition substitutions a text uses."""
    return set(re.findall(r"\$\{([^}]+)\}", text))
