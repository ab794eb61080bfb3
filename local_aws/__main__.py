"""`python -m local_aws ...`: the endpoint's commands (local_aws/cli.py: serve, faults,
invocations), the stack's (local_aws/stack_commands.py: up, run) and the inspection's
(local_aws/runs_cli.py: runs)."""

import sys

from local_aws.cli import main
from local_aws.runs_cli import register as register_runs
from local_aws.stack_commands import register

register()
register_runs()
sys.exit(main())
