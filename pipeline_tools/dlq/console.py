"""The console's DLQ API (the page: static/dlq.js), the same functions as `runs dlq`.

    GET api/dlq?reason=&group=&older_than=&newer_than=&id=      the messages, explained
    GET api/dlq-plan?…same filters…                              a redrive dry run
Optional on both: dlq_url, queue_url, table (default: discovered, see queues.py). The page only
shows a plan; moving messages stays a deliberate command (`runs dlq redrive … --apply`).
"""

from __future__ import annotations

import shlex
from typing import Any

from pipeline_tools.runs.reader import RunReader

from . import reasons, redrive
from .messages import Filters, parse_age
from .queues import DlqError, resolve

FILTER_FLAGS = {"reason": "--reason", "group": "--group", "older_than": "--older-than",
                "newer_than": "--newer-than", "id": "--id"}  # fmt: skip


def _filters(query: dict[str, str]) -> Filters:
    return Filters(
        reason=query.get("reason") or None,
        group=query.get("group") or None,
        older_than_s=parse_age(query["older_than"]) if query.get("older_than") else None,
        newer_than_s=parse_age(query["newer_than"]) if query.get("newer_than") else None,
        ids=(query["id"],) if query.get("id") else (),
    )


def _command(query: dict[str, str]) -> str:
    words = ["python", "-m", "pipeline_tools", "runs", "dlq"]
    for key in ("dlq_url", "queue_url", "table"):
        if query.get(key):
            words += [f"--{key.replace('_', '-')}", query[key]]
    words.append("redrive")
    for key, flag in FILTER_FLAGS.items():
        if query.get(key):
            words += [flag, query[key]]
    return shlex.join([*words, "--apply"])


def api(reader: RunReader, name: str, query: dict[str, str]) -> dict[str, Any]:
    """`dlq` or `dlq-plan`; ValueError (HTTP 400) for a bad filter or an unknown queue."""
    sqs, dynamodb = reader.client("sqs"), reader.client("dynamodb")
    try:
        target = resolve(
            sqs,
            dynamodb,
            dlq_url=query.get("dlq_url") or None,
            source_url=query.get("queue_url") or None,
            table=query.get("table") or None,
        )
    except DlqError as exc:
        raise ValueError(str(exc)) from exc
    filters = _filters(query)
    letters, unread = reasons.read_explained(sqs, dynamodb, reader, target.dlq_url, target.table)
    head = {"dlq_url": target.dlq_url, "queue_url": target.source_url, "unread": unread,
            "reasons": sorted({m.reason for m in letters})}  # fmt: skip
    if name == "dlq":
        chosen = [m.to_dict() for m in letters if filters.matches(m)]
        return {**head, "total": len(letters), "messages": chosen}
    if name == "dlq-plan":
        if filters.empty:
            raise ValueError("choose what to redrive (a filter); the CLI's --all moves everything")
        moves = [m.to_dict() for m in redrive.plan(letters, filters)]
        return {**head, "dry_run": True, "moves": moves, "command": _command(query)}
    raise LookupError(f"no such API: {name}")
