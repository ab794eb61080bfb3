"""`python -m local_aws ...`: the endpoint's commands (local_aws/cli.py: serve, faults,
invocations) and the stack's (local_aws/stack_commands.py: up, run)."""

import sys

from local_aws.cli import main
from local_aws.stack_commands import register

register()
sys.exit(main())
