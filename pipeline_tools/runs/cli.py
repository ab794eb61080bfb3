"""`python -m pipeline_tools runs …`: what happened to each message, from the command line.

    python -m pipeline_tools runs list [--outcome duplicate] [--status FAILED] [--group G]
        [--limit 20]
    python -m pipeline_tools runs show <message-id | SQS message id | execution name | name/index>
        [--full] [--json]
    python -m pipeline_tools runs metrics [--minutes 60] [--period 60]

Everything is read through the AWS APIs of the endpoint (`--endpoint`, `LOCAL_AWS_ENDPOINT`, default
http://127.0.0.1:4577), by pipeline_tools/runs/reader.py, which the web console's JSON API uses too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
from typing import Any

from local_aws import config as settings
from pipeline_tools.runs.outcomes import OUTCOMES
from pipeline_tools.runs.reader import STATUSES, RunDetail, RunReader, preview

_CFN_NAME = re.compile(r"-([A-Za-z0-9]+)-[A-Z0-9]{8,}$")


def _clock(epoch: float | None, *, date: bool = False) -> str:
    if epoch is None:
        return "-"
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f" if date else "%H:%M:%S.%f")[:-3]
    return text + (" UTC" if date else "")


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms"


def short_function(name: str) -> str:
    """`<stack>-ValidateFunction-0U8O5VTZIZUU` (CloudFormation-style) -> `ValidateFunction`."""
    match = _CFN_NAME.search(name or "")
    return match.group(1) if match else name


def _width() -> int:
    return max(80, shutil.get_terminal_size((120, 24)).columns)


# ------------------------------------------------------------------------------ list


def format_list(runs: list[Any]) -> str:
    if not runs:
        return "no runs (has a message gone through the pipeline yet?)"
    key_w = max(10, *(len(run.key) for run in runs))
    group_w = min(40, max(5, *(len(run.group or "-") for run in runs)))
    reason_w = max(6, *(len(run.reason or "") for run in runs))
    header = (
        f"{'STARTED (UTC)':12}  {'MESSAGE ID':{key_w}}  {'GROUP':{group_w}}  {'STATUS':9}  "
        f"{'OUTCOME':13}  {'REASON':{reason_w}}  {'DURATION':>9}  {'RECV':>4}  EXECUTION"
    )
    lines = [header]
    for run in runs:
        execution = run.execution_name + (f"/{run.index}" if run.batch_size > 1 else "")
        lines.append(
            f"{_clock(run.started):12}  {run.key:{key_w}}  {(run.group or '-')[:40]:{group_w}}  "
            f"{run.status:9}  {run.outcome:13}  {(run.reason or ''):{reason_w}}  "
            f"{_ms(run.duration_ms):>9}  {run.receive_count or '-':>4}  {execution}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------ show


def format_detail(detail: RunDetail, *, full: bool = False) -> str:
    run = detail.run
    width = _width()
    cut = (
        (lambda text, n=width - 22: text) if full else (lambda text, n=width - 22: preview(text, n))
    )
    out = []
    title = f"Run {run.run_id}"
    out.append(title)
    out.append("=" * len(title))
    out.append(
        f"message      {run.message_id or '(no message_id in the body)'}   "
        f"SQS {run.sqs_message_id}   group {run.group}   receive #{run.receive_count}"
    )
    reason = f" ({run.reason})" if run.reason else ""
    out.append(
        f"result       {run.status} · {run.outcome}{reason} · {_ms(run.duration_ms)} · "
        f"started {_clock(run.started, date=True)}"
    )
    out.append(
        f"execution    {run.execution_name} ({run.execution_status}; record {run.index + 1} of "
        f"{run.batch_size})"
    )
    out.append(f"X-Ray trace  {detail.trace_id or '-'}")
    if detail.error:
        out.append(f"error        {detail.error}: {cut(detail.cause or '')}")

    out.append("")
    out.append("Timeline")
    for step in detail.steps:
        offset = (step.entered - run.started) * 1000 if step.entered and run.started else 0
        state = step.status
        if step.status == "CAUGHT":
            state = f"CAUGHT {step.error} → {step.next}"
        elif step.status == "FAILED" and step.error:
            state = f"FAILED {step.error}"
        retries = (
            f"  ({step.retries} {'retry' if step.retries == 1 else 'retries'})"
            if (step.retries)
            else ""
        )
        out.append(
            f"  +{offset:8.1f} ms  {step.name:26} {step.type:7} {_ms(step.duration_ms):>9}  "
            f"{state}{retries}"
        )
        if len(step.attempts) > 1 or any(a.status != "SUCCEEDED" for a in step.attempts):
            for number, attempt in enumerate(step.attempts, 1):
                what = attempt.status
                if attempt.error:
                    what += f" {attempt.error}: {cut(attempt.cause or '', width - 60)}"
                out.append(f"{'':16}attempt {number}: {_ms(attempt.duration_ms):>9}  {what}")
        if step.input is not None:
            out.append(f"{'':16}in   {cut(step.input)}")
        if step.output is not None:
            out.append(f"{'':16}out  {cut(step.output)}")

    out.append("")
    out.append(f"Metrics emitted ({len(detail.metrics)})")
    for metric in detail.metrics:
        out.append(
            f"  {metric['name']:20} {metric['value']!s:>4} {metric.get('unit') or '':6} "
            f"{metric['namespace']}  via "
            + re.sub(r"\((.*)\)", lambda m: f"({short_function(m.group(1))})", metric["source"])
        )
    if not detail.metrics:
        out.append("  (none)")

    out.append("")
    out.append(f"Lambda logs ({len(detail.logs)} lines, by trace_id)")
    for line in detail.logs:
        function = short_function(line["function"])
        message = line["message"].replace("\n", " ⏎ ").replace("\t", " ")
        out.append(f"  {_clock(line['timestamp'])}  {function[:24]:24} {cut(message, width - 42)}")
    if not detail.logs:
        out.append("  (none)")

    out.append("")
    out.append(f"X-Ray segments ({detail.trace_id or 'no trace'})")
    for entity in detail.trace:
        flags = "".join(f" [{flag}]" for flag in ("fault", "error", "throttle") if entity.get(flag))
        what = entity.get("origin") or entity.get("namespace") or entity["kind"]
        if entity.get("operation"):
            what = f"{what} {entity['operation']}"
        notes = ""
        if entity.get("annotations"):
            notes = "  " + " ".join(f"{k}={v}" for k, v in entity["annotations"].items())
        if entity.get("cause"):
            notes += f"  {entity['cause']}"
        out.append(
            f"  {'  ' * entity['depth']}{entity['name']}  ({what})  "
            f"{_ms(entity['duration_ms'])}{flags}{cut(notes, width - 40) if notes else ''}"
        )
    if not detail.trace:
        out.append("  (none)")
    return "\n".join(out)


def format_metrics(data: dict[str, Any]) -> str:
    lines = [
        f"namespace {data['namespace']}, sums per {data['period']} s from "
        f"{_clock(data['start'], date=True)} to {_clock(data['end'], date=True)}"
    ]
    for name, total in data["totals"].items():
        bars = "".join(_spark(v, data["series"][name]) for v in data["series"][name][-40:])
        lines.append(f"  {name:20} {total:>7g}  {bars}")
    return "\n".join(lines)


def _spark(value: float, values: list[float]) -> str:
    top = max(values) or 1
    blocks = " ▁▂▃▄▅▆▇█"
    return blocks[min(8, round(value / top * 8))] if value else "·"


# ------------------------------------------------------------------------------ command


def run(args: argparse.Namespace) -> int:
    reader = RunReader.for_endpoint(args.endpoint, state_machine_arn=args.state_machine)
    try:
        return _dispatch(reader, args)
    except Exception as exc:  # connection refused etc.: one clear line, not a traceback
        name = type(exc).__name__
        if "EndpointConnectionError" in name or "ConnectionError" in name:
            print(f"local stack not reachable at {args.endpoint} (is `make up` running?)",
                  file=sys.stderr)  # fmt: skip
            return 2
        raise


def _dispatch(reader: RunReader, args: argparse.Namespace) -> int:
    if args.action == "list":
        runs = reader.list_runs(
            outcome=args.outcome, status=args.status, group=args.group, limit=args.limit
        )
        if args.json:
            print(json.dumps([r.to_dict() for r in runs], indent=2))
        else:
            print(format_list(runs))
        return 0
    if args.action == "show":
        runs = reader.find_runs(args.key)
        if not runs:
            print(f"no run found for {args.key!r} (a message_id, SQS message id, execution name "
                  "or <execution name>/<index>)", file=sys.stderr)  # fmt: skip
            return 1
        details = [reader.detail(run) for run in runs]
        if args.json:
            print(json.dumps([d.to_dict(full=args.full) for d in details], indent=2))
            return 0
        if len(details) > 1:
            print(f"{len(details)} runs match {args.key} (oldest first):")
            for detail in details:
                run = detail.run
                print(f"  {run.run_id}: {run.outcome} ({run.status}) at {_clock(run.started)}")
            print()
        print("\n\n".join(format_detail(d, full=args.full) for d in details))
        return 0
    if args.action == "metrics":
        data = reader.metric_series(
            namespace=args.namespace, minutes=args.minutes, period=args.period
        )
        print(json.dumps(data, indent=2) if args.json else format_metrics(data))
        return 0
    raise SystemExit(f"unknown action {args.action}")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Per-message runs: states, inputs/outputs, errors, metrics, logs, trace."
    parser.add_argument("--endpoint", default=settings.endpoint_url())
    parser.add_argument(
        "--state-machine", default=None, help="only this state machine ARN (default: all)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="runs, newest first")
    listing.add_argument("--outcome", choices=[*OUTCOMES, "succeeded"])
    listing.add_argument("--status", type=str.upper, choices=STATUSES)
    listing.add_argument("--group", help="message group id")
    listing.add_argument("--limit", type=int, default=50, help="at most N runs (0: all)")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one message's runs in detail")
    show.add_argument("key", help="message_id, SQS message id, execution name, or name/index")
    show.add_argument("--full", action="store_true", help="inputs, outputs, causes untruncated")
    show.add_argument("--json", action="store_true")
    metrics = actions.add_parser("metrics", help="the pipeline's 8 metrics over time")
    metrics.add_argument("--namespace", help="default: the namespace holding them")
    metrics.add_argument("--minutes", type=int, default=60)
    metrics.add_argument("--period", type=int, default=60, help="seconds per point")
    metrics.add_argument("--json", action="store_true")
