"""`runs dlq list | show | redrive`: the DLQ from the command line (see the package doc).

    runs dlq list [--reason R] [--group G] [--older-than 1h] [--newer-than 10m] [--json]
    runs dlq show <SQS message id | message_id | source_message_id> [--body] [--json]
    runs dlq redrive (--reason R | --group G | --id X | --older-than A | --all) [--apply]
    runs dlq redrive --all --apply --move-task     # SQS's StartMessageMoveTask, where supported

`--endpoint aws` uses the default AWS credentials and region instead of a local endpoint.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from pipeline_tools.runs.reader import RunReader, clients_for_endpoint

from . import messages, reasons, redrive
from .messages import DeadLetter, Filters
from .queues import DlqError, DlqTarget, resolve

AWS = "aws"
_RUN_HINT = "python -m pipeline_tools runs show"


class Session:
    """The clients and the resolved target of one command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.clients = _clients(args.endpoint)
        self.sqs = self.clients("sqs")
        self.dynamodb = self.clients("dynamodb")
        self.reader = RunReader(self.clients, state_machine_arn=args.state_machine)
        self.target: DlqTarget = resolve(
            self.sqs,
            self.dynamodb,
            dlq_url=args.dlq_url,
            source_url=args.queue_url,
            table=args.table,
        )

    def explain(self, letters: list[DeadLetter]) -> None:
        reasons.explain(letters, self.reader)
        reasons.mark_stored(letters, self.dynamodb, self.target.table)

    def read(self) -> tuple[list[DeadLetter], int]:
        target = self.target
        return reasons.read_explained(
            self.sqs, self.dynamodb, self.reader, target.dlq_url, target.table
        )


def _clients(endpoint: str):
    if endpoint == AWS:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        config = Config(retries={"mode": "standard", "total_max_attempts": 5})
        return lambda service: session.client(service, config=config)
    return clients_for_endpoint(endpoint)


def filters_from(args: argparse.Namespace) -> Filters:
    return Filters(
        reason=args.reason,
        group=args.group,
        older_than_s=messages.parse_age(args.older_than) if args.older_than else None,
        newer_than_s=messages.parse_age(args.newer_than) if args.newer_than else None,
        ids=tuple(args.id or ()),
    )


# ------------------------------------------------------------------------------ output


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _stored(letter: DeadLetter) -> str:
    return {True: "yes", False: "no", None: "-"}[letter.stored]


def format_list(letters: list[DeadLetter], unread: int, target: DlqTarget) -> str:
    head = f"DLQ {target.dlq_url}: {len(letters)} message(s)"
    if unread:
        head += (
            f", {unread} more not readable now (FIFO: behind messages of their group; a redrive "
            "reaches them as it deletes)"
        )
    if not letters:
        return head
    lines = [
        head,
        f"{'AGE':>6}  {'SQS MESSAGE ID':36}  {'MESSAGE ID':36}  {'GROUP':24}  {'KIND':13}  "
        f"{'REASON':18}  COPIES  STORED",
    ]
    for letter in letters:
        lines.append(
            f"{age_text(letter.age_s()):>6}  {letter.sqs_message_id:36}  "
            f"{(letter.message_id or '-'):36}  {(letter.group or '-')[:24]:24}  {letter.kind:13}  "
            f"{letter.reason[:18]:18}  {letter.copies:>6}  {_stored(letter)}"
        )
        if letter.reason_detail:
            lines.append(f"{'':8}{letter.reason_detail[:200]}")
    return "\n".join(lines)


def format_show(letter: DeadLetter, *, body: bool) -> str:
    out = [
        f"DLQ message {letter.sqs_message_id}",
        f"  kind            {letter.kind}",
        f"  reason          {letter.reason}",
        f"  detail          {letter.reason_detail or '-'}",
        f"  message_id      {letter.message_id or '(none in the body)'}",
        f"  group           {letter.group or '-'}",
        f"  age             {age_text(letter.age_s())} (sent {_when(letter.sent_at)})",
        f"  source message  {letter.source_message_id} ({letter.copies} DLQ cop"
        f"{'y' if letter.copies == 1 else 'ies'})",
        f"  stored          {_stored(letter)}",
        f"  DLQ receives    {letter.dlq_receive_count}",
    ]
    if letter.failed_receives is not None:
        out.append(f"  failed receives {letter.failed_receives}")
    out.append("  attributes")
    out += [f"    {k} = {v}" for k, v in sorted(letter.attributes.items())] or ["    (none)"]
    out.append(f"  runs ({len(letter.runs)})")
    out += [f"    {run}    ({_RUN_HINT} {run})" for run in letter.runs] or ["    (none found)"]
    out.append("  body" if body else "  body            (not shown: --body prints it)")
    if body:
        out.append(f"    {letter.body}")
    return "\n".join(out)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_plan(moves: list[redrive.PlannedMove], target: DlqTarget) -> str:
    copies = sum(len(m.copies) for m in moves)
    lines = [
        f"DRY RUN: would redrive {len(moves)} message(s) ({copies} DLQ message(s)) from "
        f"{target.dlq_url} to {target.source_url}; nothing was changed."
    ]
    for move in moves:
        lines.append(
            f"  {move.source_message_id}  {move.sent.reason:18}  {move.sent.group or '-'} -> "
            f"{move.group}  dlq_retry={move.dlq_retry if move.dlq_retry is not None else '-'}"
            f"  {len(move.copies)} cop{'y' if len(move.copies) == 1 else 'ies'}"
            + (f"  ({move.note})" if move.note else "")
        )
    if moves:
        lines.append("Run the same command with --apply to send them.")
    return "\n".join(lines)


def format_result(result: redrive.MoveResult) -> str:
    move = result.move
    if result.sent_message_id is None:
        return f"FAILED   {move.source_message_id}: {result.error}"
    text = (
        f"sent     {move.source_message_id} as {result.sent_message_id} in group {move.group} "
        f"(dlq_retry={move.dlq_retry}); deleted {len(result.deleted)} of {len(move.copies)} "
        "DLQ message(s)"
    )
    return text + (f"; {result.error}" if result.error else "")


# ------------------------------------------------------------------------------ commands


def _list(session: Session, args: argparse.Namespace) -> int:
    letters, unread = session.read()
    chosen = [m for m in letters if filters_from(args).matches(m)]
    if args.json:
        print(json.dumps({"messages": [m.to_dict() for m in chosen], "unread": unread}, indent=2))
    else:
        print(format_list(chosen, unread, session.target))
    return 0


def _show(session: Session, args: argparse.Namespace) -> int:
    letters, _ = session.read()
    found = [m for m in letters if Filters(ids=(args.key,)).matches(m)]
    if not found:
        print(f"no DLQ message matches {args.key!r}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([m.to_dict(include_body=args.body) for m in found], indent=2))
    else:
        print("\n\n".join(format_show(m, body=args.body) for m in found))
    return 0


def _redrive(session: Session, args: argparse.Namespace) -> int:
    filters = filters_from(args)
    if filters.empty and not args.all:
        return _refuse("say what to redrive: --reason, --group, --id, --older-than, or --all")
    if args.move_task:
        if not (args.all and filters.empty):
            return _refuse("--move-task moves the whole DLQ: use it with --all and no filter")
        return _move_task(session, args)
    if not args.apply:
        letters, _ = session.read()
        moves = redrive.plan(letters, filters)
        if args.json:
            print(json.dumps({"dry_run": True, "moves": [m.to_dict() for m in moves]}, indent=2))
        else:
            print(format_plan(moves, session.target))
        return 0
    printer = (lambda r: None) if args.json else (lambda r: print(format_result(r), flush=True))
    results = redrive.apply(
        session.sqs, session.target, filters, explain=session.explain, on_result=printer
    )
    failed = [r for r in results if r.error]
    if args.json:
        print(json.dumps({"dry_run": False, "results": [r.to_dict() for r in results]}, indent=2))
    else:
        done = len(results) - len(failed)
        print(f"redriven {done} of {len(results)} message(s) to {session.target.source_url}")
    return 1 if failed else 0


def _move_task(session: Session, args: argparse.Namespace) -> int:
    if not args.apply:
        target = session.target
        print(
            f"DRY RUN: would start StartMessageMoveTask {target.dlq_arn} -> {target.source_arn} "
            "(bodies unchanged, original groups). --apply starts it."
        )
        return 0
    try:
        handle = redrive.start_move_task(session.sqs, session.target)
    except Exception as exc:
        print(
            f"StartMessageMoveTask failed: {redrive.error_text(exc)} (the endpoint may not "
            "support it; `redrive --all --apply` without --move-task works everywhere)",
            file=sys.stderr,
        )
        return 1
    print(f"started message move task {handle}")
    return 0


def _refuse(text: str) -> int:
    print(f"runs dlq: {text}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        session = Session(args)
        return {"list": _list, "show": _show, "redrive": _redrive}[args.dlq_action](session, args)
    except (DlqError, ValueError) as exc:
        return _refuse(str(exc))


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", help="InvalidMessage, PayloadMismatch, Runtime.ExitError, …")
    parser.add_argument("--group", help="message group id (the original one)")
    parser.add_argument("--older-than", help="age at least, e.g. 30m, 2h, 1d")
    parser.add_argument("--newer-than", help="age at most")
    parser.add_argument("--id", action="append", help="SQS message id, message_id or source id")
    parser.add_argument("--json", action="store_true")


def configure(parser: argparse.ArgumentParser) -> None:
    """The `dlq` subcommand of `runs` (registered by runs_cli)."""
    parser.description = "Dead-letter queue: why each message is there; redrive the right ones."
    parser.add_argument("--dlq-url", help="default: the DLQ named by the queues' redrive policy")
    parser.add_argument("--queue-url", help="source queue (default: ListDeadLetterSourceQueues)")
    parser.add_argument("--table", help="table of stored messages (default: the only one)")
    parser.set_defaults(run=run)
    actions = parser.add_subparsers(dest="dlq_action", required=True)
    _add_filters(actions.add_parser("list", help="every DLQ message with its reason"))
    show = actions.add_parser("show", help="one DLQ message: reason, attributes, runs")
    show.add_argument("key", help="SQS message id, message_id or source_message_id")
    show.add_argument("--body", action="store_true", help="print the body (personal data!)")
    show.add_argument("--json", action="store_true")
    again = actions.add_parser("redrive", help="send selected messages back (dry run by default)")
    _add_filters(again)
    again.add_argument("--all", action="store_true", help="every message (explicitly)")
    again.add_argument("--apply", action="store_true", help="really send and delete")
    again.add_argument("--move-task", action="store_true", help="SQS StartMessageMoveTask")
