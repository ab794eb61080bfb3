"""Amazon SQS on the local endpoint: moto's SQS, made to behave as AWS documents it.

One module per concern, each a small named patch of moto 5.2.5's SQS (or, for ReceiveMessage, a
replacement, where patching would be larger than owning it), each pinned by tests in
tests/local_aws/sqs/ that cite the AWS page of the rule and fail if moto changes under it:

- fast_queue        O(1) DeleteMessage (receipt-handle index), one-scan queue attributes
- receive           ReceiveMessage: group order, whole-group locking, live long polls, redrive
- redrive           DeadLetterQueueSourceArn on dead-lettered messages
- sending           5-minute deduplication window, id rules, sizes, FIFO delay, sequence numbers
- receipt_handles   expired / unknown receipt handles
- batches           batch entry ids, 10-entry limit, SendMessageBatch without empty Failed
- queue_attributes  CreateQueue conflicts, FIFO-only attributes on standard queues
- errors            AWS's JSON error type for InvalidParameterValue
"""

from __future__ import annotations

import threading

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Apply every SQS patch to moto (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from local_aws.sqs import (
            batches,
            errors,
            fast_queue,
            queue_attributes,
            receipt_handles,
            receive,
            redrive,
            sending,
        )

        # fast_queue first: receipt_handles wraps its DeleteMessage.
        for module in (
            fast_queue,
            receive,
            redrive,
            sending,
            receipt_handles,
            batches,
            queue_attributes,
            errors,
        ):
            module.install()
        _installed = True
