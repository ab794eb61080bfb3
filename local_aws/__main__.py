"""`python -m local_aws serve | faults | invocations` (local_aws/cli.py)."""

import sys

from local_aws.cli import main

sys.exit(main())
