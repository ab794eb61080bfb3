"""Shared loaders for the workflow/template tests: the ASL file, template.yaml (through cfn-lint's
own decoder, which understands the short-form intrinsic tags) and the typed errors module."""

from __future__ import annotations

import importlib.util
import inspect
import json

import pytest
from cfnlint.decode import decode_str
from workflow_files import ASL_PATH, ERRORS_PATH, TEMPLATE_PATH


@pytest.fixture(scope="session")
def asl_text() -> str:
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def asl(asl_text) -> dict:
    return json.loads(asl_text)


@pytest.fixture(scope="session")
def states(asl) -> dict:
    """The states of one iteration (the Map's ItemProcessor)."""
    return asl["States"]["ProcessBatch"]["ItemProcessor"]["States"]


@pytest.fixture(scope="session")
def template() -> dict:
    template, matches = decode_str(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert not matches, matches
    return template


@pytest.fixture(scope="session")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="session")
def typed_errors() -> set[str]:
    """Class names of the errors the Lambdas raise (the ErrorEquals names)."""
    spec = importlib.util.spec_from_file_location("_pipeline_errors", ERRORS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        name
        for name, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, module.PipelineError)
        and obj.__module__ == module.__name__
        and name not in {"PipelineError", "ConfigurationError"}
    }
