"""local_aws's changes to moto's code at run time, installed by `apply()`.

Each patch replaces moto functions or methods, so each one is a place where a moto upgrade can
change behaviour under us; each lives next to the service it patches, with tests there:
- Step Functions interpreter: local_aws/stepfunctions/patches.py;
- SQS: local_aws/sqs/ (queues that behave and answer as AWS documents: docs/sqs.md);
- and one to the standard library, for a CPython 3.11 bug: local_aws/core/ast_lock.py.
"""

from __future__ import annotations

from local_aws import sqs
from local_aws.core import ast_lock
from local_aws.stepfunctions import patches as stepfunctions_patches
from local_aws.stepfunctions.patches import (  # noqa: F401  (LocalAWS wires the interpreter here)
    register_execution_trace,
    set_endpoint,
    set_lambda_invoker,
    set_role_credentials,
)


def apply() -> None:
    """Install every patch (each one is idempotent)."""
    ast_lock.apply()  # moto's ASL parser calls ast.literal_eval from many threads
    stepfunctions_patches.apply()
    sqs.install()
