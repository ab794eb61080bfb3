from __future__ import annotations

from pathlib import Path

import pytest

from local_aws.awslambda.runtime import FunctionSpec

FUNCTIONS = Path(__file__).resolve().parent / "functions"


@pytest.fixture(scope="session")
def stack(local_stack):
    """The session's LocalAWS with this folder's tiny test functions registered."""
    specs = [
        FunctionSpec("echo", FUNCTIONS / "echo", environment={"GREETING": "hello"}, memory_mb=256),
        FunctionSpec("raiser", FUNCTIONS / "raiser"),
        FunctionSpec("sleeper", FUNCTIONS / "sleeper", timeout_s=0.5),
        FunctionSpec("crasher", FUNCTIONS / "crasher"),
        FunctionSpec("emf", FUNCTIONS / "emf"),
        FunctionSpec("broken_import", FUNCTIONS / "broken_import"),
        FunctionSpec("sdk_call", FUNCTIONS / "sdk_call", timeout_s=10),
    ]
    for spec in specs:
        local_stack.lambdas.register(spec)
    yield local_stack
    local_stack.faults.clear()


@pytest.fixture
def faults(stack):
    """The fault injector, emptied after the test."""
    yield stack.faults
    stack.faults.clear()
