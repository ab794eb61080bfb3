"""CreateQueue / SetQueueAttributes rules on queue attributes.

- CreateQueue of an existing name with a different attribute value fails, and says which
  attribute (API_CreateQueue: "with different attribute names or values, the CreateQueue action
  will return an error"; AWS's message names the attribute, moto's does not).
- The FIFO-only attributes (ContentBasedDeduplication, DeduplicationScope,
  FifoThroughputLimit: API_CreateQueue, "apply only to FIFO queues") on a standard queue are
  InvalidAttributeName; moto stores them.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.sqs import models
from moto.sqs.exceptions import InvalidAttributeName, QueueAlreadyExists

FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")


def _refuse_fifo_only(attributes: dict[str, Any], fifo: bool) -> None:
    if not fifo:
        for name in FIFO_ONLY:
            if name in attributes:
                raise InvalidAttributeName(name)


def _create_queue(original: Any) -> Any:
    @functools.wraps(original)
    def create_queue(self, name, tags=None, **kwargs):
        attributes = {k: v for k, v in kwargs.items() if k != "region"}
        _refuse_fifo_only(attributes, str(attributes.get("FifoQueue", "")).lower() == "true")
        try:
            return original(self, name, tags, **kwargs)
        except QueueAlreadyExists:
            existing = self.queues[name].attributes
            wanted = models.Queue(
                name, region=self.region_name, account_id=self.account_id, **attributes
            ).attributes
            differing = next(k for k in attributes if existing.get(k) != wanted.get(k))
            raise QueueAlreadyExists(
                "A queue already exists with the same name and a different value for "
                f"attribute {differing}"
            ) from None

    return create_queue


def _set_queue_attributes(original: Any) -> Any:
    @functools.wraps(original)
    def set_queue_attributes(self, queue_name, attributes):
        _refuse_fifo_only(attributes, self.get_queue(queue_name).fifo_queue)
        return original(self, queue_name, attributes)

    return set_queue_attributes


def install() -> None:
    models.SQSBackend.create_queue = _create_queue(models.SQSBackend.create_queue)
    models.SQSBackend.set_queue_attributes = _set_queue_attributes(
        models.SQSBackend.set_queue_attributes
    )
