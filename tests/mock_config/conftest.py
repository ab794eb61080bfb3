"""Fixtures of the mock-configuration tests (scenario table and runner: mock_scenarios.py)."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import pytest

from local_aws.stepfunctions.mock_config import MockConfig, load
from pipeline_tools.mock_config import ASL_PATH, MOCK_CONFIG_PATH

HERE = Path(__file__).resolve().parent
ERRORS_PATH = HERE.parents[1] / "lambdas" / "common" / "pipeline_common" / "errors.py"


@pytest.fixture(scope="session")
def mock_config() -> MockConfig:
    """statemachine/test/MockConfigFile.json, by explicit path (not $SFN_MOCK_CONFIG)."""
    return load(MOCK_CONFIG_PATH)


@pytest.fixture(scope="session")
def definition() -> dict:
    return json.loads(ASL_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def typed_errors() -> set[str]:
    """Class names of the errors the Lambdas raise (lambdas/common/pipeline_common/errors.py)."""
    spec = importlib.util.spec_from_file_location("_pipeline_errors_for_mocks", ERRORS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        name
        for name, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, module.PipelineError)
        and obj.__module__ == module.__name__
        and name not in {"PipelineError", "ConfigurationError"}
    }
