"""`python -m pipeline_tools up | run | runs` (pipeline_tools/cli.py)."""

import sys

from pipeline_tools.cli import main

sys.exit(main())
