"""Step Functions on moto's interpreter: the StartExecution / StartSyncExecution front
(executions.py), Step Functions Local mock configurations (mock_config.py) and the interpreter's
patches (patches.py)."""

from local_aws.stepfunctions.executions import (
    LOG,
    MockResolver,
    StepFunctionsFront,
    TrackedExecution,
    TrackedSyncExecution,
    call_moto,
)

__all__ = [
    "LOG",
    "MockResolver",
    "StepFunctionsFront",
    "TrackedExecution",
    "TrackedSyncExecution",
    "call_moto",
]
