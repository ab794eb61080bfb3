"""Command line of the pipeline's tools: `python -m pipeline_tools <command>`.

    python -m pipeline_tools up  [--port 4577] [--parameter BatchSize=5 ...]  # make up
    python -m pipeline_tools run [--port 4577]                               # make run (the demo)
    python -m pipeline_tools runs list | show <id> | metrics                 # per-message runs

The endpoint's own commands (serve, faults, invocations) are `python -m local_aws`.
"""

from __future__ import annotations

import argparse
import sys

from pipeline_tools import stack
from pipeline_tools.runs import cli as runs_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_tools", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, configure, run, help_text in (
        ("up", stack.configure_up, stack.up, "deploy template.yaml, keep it running"),
        ("run", stack.configure_run, stack.run, "the demo, end to end, with its report"),
        ("runs", runs_cli.configure, runs_cli.run, "what happened to each message"),
    ):
        sub = commands.add_parser(name, help=help_text)
        configure(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
