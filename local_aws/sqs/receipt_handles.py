"""DeleteMessage's answers to a receipt handle it cannot use, as AWS gives them.

- FIFO: a handle whose visibility timeout has passed (the message is visible again, or was
  received again since) is refused with InvalidParameterValue "The receipt handle has expired"
  (API_ReceiveMessage, ReceiveRequestAttemptId: "if a consumer whose message processing time is
  longer than the visibility timeout tries to delete the processed messages, the action fails
  with an error"). moto deletes the message anyway.
- A handle SQS never gave: ReceiptHandleIsInvalid, 'The input receipt handle "<handle>" is not
  a valid receipt handle.' (moto: "The input receipt handle is invalid.").
- DeleteMessageBatch reports both per entry, as it does for invalid handles.
The handle of a message that was already deleted stays accepted (moto's and AWS's answer).
"""

from __future__ import annotations

import functools
from typing import Any

from moto.sqs import models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid, SQSException

from local_aws.sqs.fast_queue import message_for, now_ms
from local_aws.sqs.sending import batch_error


def invalid_handle(receipt_handle: str) -> SQSException:
    return SQSException(
        "ReceiptHandleIsInvalid",
        f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.',
    )


def _delete_message(original: Any) -> Any:
    @functools.wraps(original)
    def delete_message(self, receipt_handle: str) -> None:
        if self.fifo_queue and receipt_handle not in self.deleted_messages:
            message = message_for(receipt_handle)
            if message is not None and (
                message.receipt_handle != receipt_handle or now_ms() > message.visible_at
            ):
                raise InvalidParameterValue(
                    f"Value {receipt_handle} for parameter ReceiptHandle is invalid. "
                    "Reason: The receipt handle has expired."
                )
        try:
            original(self, receipt_handle)
        except ReceiptHandleIsInvalid:
            raise invalid_handle(receipt_handle) from None

    return delete_message


def delete_message_batch(self, queue_name, receipts):
    """Replaces moto's (which only catches its own ReceiptHandleIsInvalid class): per entry."""
    success, errors = [], []
    for entry in receipts:
        try:
            self.delete_message(queue_name, entry["ReceiptHandle"])
        except SQSException as error:
            if error.code not in ("InvalidParameterValue", "ReceiptHandleIsInvalid"):
                raise
            errors.append(batch_error(entry["Id"], error))
        else:
            success.append(entry["Id"])
    return success, errors


def install() -> None:
    models.Queue.delete_message = _delete_message(models.Queue.delete_message)
    delete_message_batch.replaces = models.SQSBackend.delete_message_batch
    models.SQSBackend.delete_message_batch = delete_message_batch
