"""ReceiveMessage returns DeadLetterQueueSourceArn for a message SQS moved to a DLQ.

AWS: the system attribute DeadLetterQueueSourceArn (MessageSystemAttributeName in the API
reference; sqs-dead-letter-queues) names the queue a dead-lettered message came from. moto's
response builds the attribute list from a fixed local list that lacks it, so this adds it to the
response of a receive that asked for it (or All), from `receive.dead_letter_source_arns`.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs import responses

from local_aws.sqs.receive import dead_letter_source_arns

ATTRIBUTE = "DeadLetterQueueSourceArn"


def _with_source_arn(original: Any) -> Any:
    @functools.wraps(original)
    def receive_message(self):
        result = original(self)
        asked = set(self._get_param("AttributeNames", []))
        asked |= set(self._get_param("MessageSystemAttributeNames", []))
        if not asked & {"All", ATTRIBUTE} or not isinstance(result, ActionResult):
            return result
        for message in (result.result or {}).get("Messages", []):
            source = dead_letter_source_arns.get(message["MessageId"])
            if source is not None:
                message.setdefault("Attributes", {})[ATTRIBUTE] = source
        return result

    return receive_message


def install() -> None:
    responses.SQSResponse.receive_message = _with_source_arn(responses.SQSResponse.receive_message)
