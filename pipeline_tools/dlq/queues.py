"""Which dead-letter queue, source queue and table the commands work on.

Given by flags, or discovered through SQS's own records: a queue's RedrivePolicy names its DLQ
(GetQueueAttributes), and ListDeadLetterSourceQueues names the queues that use a DLQ. The table is
only used to say whether a message is already stored (GetItem); it is discovered when the account
has exactly one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class DlqError(Exception):
    """A clear, one-line problem for the operator (no traceback)."""


@dataclass(frozen=True)
class DlqTarget:
    dlq_url: str
    dlq_arn: str
    source_url: str
    source_arn: str
    table: str | None

    @property
    def fifo(self) -> bool:
        return self.dlq_url.endswith(".fifo")


def _arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def _queue_urls(sqs: Any) -> list[str]:
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate():
        urls += page.get("QueueUrls", [])
    return urls


def _redrive_pairs(sqs: Any) -> list[tuple[str, str]]:
    """(source queue URL, DLQ ARN) for every queue with a redrive policy."""
    pairs = []
    for url in _queue_urls(sqs):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if policy:
            pairs.append((url, json.loads(policy)["deadLetterTargetArn"]))
    return pairs


def _url_of(sqs: Any, arn: str) -> str:
    account, name = arn.split(":")[4], arn.split(":")[5]
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _sources_of(sqs: Any, dlq_url: str) -> list[str]:
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
        urls += page.get("queueUrls", [])
    return urls


def _one(candidates: list[str], what: str, flag: str) -> str:
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DlqError(f"no {what} found: pass {flag}")
    listed = ", ".join(sorted(candidates)[:5]) + (" …" if len(candidates) > 5 else "")
    raise DlqError(f"{len(candidates)} candidates for the {what} ({listed}): pass {flag}")


def _tables(dynamodb: Any) -> list[str]:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names += page.get("TableNames", [])
    return names


def resolve(
    sqs: Any,
    dynamodb: Any | None,
    *,
    dlq_url: str | None = None,
    source_url: str | None = None,
    table: str | None = None,
) -> DlqTarget:
    """The target from the flags given, the rest discovered (DlqError when ambiguous)."""
    if dlq_url is None:
        pairs = _redrive_pairs(sqs)
        if source_url is not None:
            pairs = [(s, d) for s, d in pairs if s == source_url]
        dlq_url = _url_of(
            sqs, _one(sorted({d for _, d in pairs}), "dead-letter queue", "--dlq-url")
        )
    if source_url is None:
        source_url = _one(_sources_of(sqs, dlq_url), "source queue of the DLQ", "--queue-url")
    if table is None and dynamodb is not None:
        names = _tables(dynamodb)
        table = names[0] if len(names) == 1 else None
    return DlqTarget(
        dlq_url=dlq_url,
        dlq_arn=_arn(sqs, dlq_url),
        source_url=source_url,
        source_arn=_arn(sqs, source_url),
        table=table,
    )
