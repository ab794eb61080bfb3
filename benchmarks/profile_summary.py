"""Summarise a `py-spy record --gil -f raw` profile of the local stack by component.

    .venv/bin/py-spy record --gil -r 100 -f raw -o .bench/profile.raw -- \\
        .venv/bin/python benchmarks/bench.py -n 600 --no-baseline
    .venv/bin/python benchmarks/profile_summary.py .bench/profile.raw

`--gil` samples only the thread holding the GIL, so the shares are shares of the stack process's
CPU. Start-up (imports, deploy, botocore models) falls in "start-up and other"; the percentages
of the steady-state components are also given relative to their own sum.
"""

from __future__ import annotations

import sys
from collections import Counter

COMPONENTS = (  # (label, substrings any of which marks a sample), first match wins
    ("benchmark analysis (after the timed run)", ("history_analysis", "scan_items")),
    ("benchmark producer (SendMessageBatch)", ("send_all",)),
    ("pipe emulator (its boto3 client)", ("PipeEmulator",)),
    ("interpreter -> Lambda runtime (in-process invoke)", ("_invoke_in_process",)),
    ("Step Functions interpreter", ("StepFunctionsFront", "stepfunctions/parser")),
    ("Lambda runtime (HTTP invokes, log forwarding)", ("awslambda/runtime",)),
    ("local X-Ray (segments from the Lambdas)", ("xray",)),
    ("moto DynamoDB", ("moto/dynamodb/",)),
    ("moto SQS", ("moto/sqs/",)),
    ("moto CloudWatch / Logs", ("moto/cloudwatch/", "moto/logs/")),
    ("moto dispatch, parsing, serialising (flask)", ("moto/", "flask/")),
    ("HTTP server (werkzeug, local_aws front)", ("werkzeug", "socketserver", "http/server")),
)
STEADY = {label for label, _ in COMPONENTS if not label.startswith("benchmark")}


def main(path: str) -> None:
    shares: Counter = Counter()
    total = 0
    with open(path) as raw:
        for line in raw:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            label = next(
                (name for name, keys in COMPONENTS if any(k in stack for k in keys)),
                "start-up and other",
            )
            shares[label] += int(count)
    steady = sum(n for label, n in shares.items() if label in STEADY) or 1
    print(f"{total} samples")
    for label, n in shares.most_common():
        relative = f"{100 * n / steady:5.1f}% of steady state" if label in STEADY else ""
        print(f"{100 * n / total:5.1f}%  {label:52} {relative}")


if __name__ == "__main__":
    main(sys.argv[1])
