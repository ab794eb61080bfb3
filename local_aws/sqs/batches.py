"""The three batch actions' request rules, checked before moto's handlers run.

- Entry ids: up to 80 characters, alphanumeric, hyphens and underscores, else
  InvalidBatchEntryId (API_SendMessageBatch / API_DeleteMessageBatch /
  API_ChangeMessageVisibilityBatch, request entries' Id). moto checks SendMessageBatch only.
- More than 10 entries: TooManyEntriesInBatchRequest for all three (the error's description in
  the API reference); moto checks SendMessageBatch only.
- SendMessageBatch's response omits `Failed` when no entry failed (as AWS answers); moto sends
  an empty list.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs import responses
from moto.sqs.exceptions import InvalidBatchEntryId, TooManyEntriesInBatchRequest

MAX_ENTRIES = 10
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


def check_entries(entries: list[dict[str, Any]]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise TooManyEntriesInBatchRequest(len(entries))
    if any(not _ENTRY_ID.fullmatch(str(entry.get("Id", ""))) for entry in entries):
        raise InvalidBatchEntryId()


def _checked(original: Any) -> Any:
    @functools.wraps(original)
    def handler(self):
        check_entries(self._get_param("Entries", []))
        return original(self)

    handler.__name__ = original.__name__
    return handler


def _without_empty_failed(original: Any) -> Any:
    @functools.wraps(original)
    def send_message_batch(self):
        result = original(self)
        body = result.result if isinstance(result, ActionResult) else None
        if isinstance(body, dict) and not body.get("Failed"):
            body.pop("Failed", None)
        return result

    return send_message_batch


def install() -> None:
    cls = responses.SQSResponse
    cls.send_message_batch = _without_empty_failed(_checked(cls.send_message_batch))
    cls.delete_message_batch = _checked(cls.delete_message_batch)
    cls.change_message_visibility_batch = _checked(cls.change_message_visibility_batch)
