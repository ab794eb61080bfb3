"""AWS X-Ray: boto3/botocore patched, one subsegment per invocation carrying the annotations
`message_id`, `message_group_id` and `outcome` (the `traced_handler` decorator).

Nothing here may raise because tracing is unavailable. In Lambda (Tracing: Active) the runtime
gives a facade segment, which cannot hold annotations, so the handler opens a subsegment and the
annotations go there. Outside Lambda (unit tests, the local stack) there is usually no segment at
all: the recorder's context_missing is IGNORE_ERROR there unless AWS_XRAY_CONTEXT_MISSING says
otherwise, because LOG_ERROR would print an error for every SDK call; for the same reason the
SDK's own "No segment found" warnings are silenced outside Lambda; and `subsegment()` checks for
a segment first.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_xray_sdk.core import patch, xray_recorder

from . import record as sqs_record
from .errors import PipelineError

_log = logging.getLogger(__name__)
ANNOTATION_KEYS = ("message_id", "message_group_id", "outcome")


_configured = False


def configure(service: str) -> None:
    """Configure the recorder and patch boto3/botocore, once per process (later calls: no-op).

    Outside Lambda, `xray_recorder.configure` builds a sampling client each time (~0.1 s), so a
    process that loads several handlers (tests, the local stack) pays it once.
    """
    global _configured
    if _configured:
        return
    context_missing = os.environ.get("AWS_XRAY_CONTEXT_MISSING", "").strip() or "IGNORE_ERROR"
    xray_recorder.configure(service=service, context_missing=context_missing)
    if context_missing == "IGNORE_ERROR" and not os.environ.get("LAMBDA_TASK_ROOT"):
        # The patched botocore warns "No segment found" on every call made without a segment.
        logging.getLogger("aws_xray_sdk.core.recorder").setLevel(logging.ERROR)
    patch(["boto3", "botocore"])
    _configured = True


def _has_segment() -> bool:
    try:
        return xray_recorder.get_trace_entity() is not None
    except Exception:  # RUNTIME_ERROR strategy, or anything else: no tracing then
        return False


@contextmanager
def subsegment(name: str) -> Iterator[Any]:
    """A subsegment around the block when a segment exists; the block runs regardless.

    Exceptions from the block are recorded on the subsegment by the SDK and propagate unchanged.
    """
    if not _has_segment():
        yield None
        return
    with xray_recorder.in_subsegment(name) as entity:
        yield entity


def annotate(**values: Any) -> None:
    """Put annotations on the current subsegment; None values are skipped; never raises."""
    try:
        entity = xray_recorder.current_subsegment() if _has_segment() else None
        if entity is None:
            return
        for key, value in values.items():
            if value is None:
                continue
            if not isinstance(value, str | int | float | bool):
                value = str(value)
            entity.put_annotation(key, value)
    except Exception:  # tracing must never break message processing
        _log.debug("X-Ray annotation failed", exc_info=True)


Annotations = dict[str, Any]


def _result_annotations(result: dict[str, Any]) -> Annotations:
    return {"message_id": result["message_id"], "outcome": result["outcome"]}


def traced_handler(
    function: str,
    *,
    message_id: Callable[[], str | None],
    on_success: Callable[[dict[str, Any]], Annotations] = _result_annotations,
    on_error: Callable[[PipelineError], Annotations] | None = None,
    errors: type[PipelineError] | tuple[type[PipelineError], ...] = PipelineError,
) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Callable[[Any, Any], Any]]:
    """Turn `work(record) -> result` into a Lambda handler traced as one subsegment.

    The handler unwraps the SQS record from the event, opens `## <function>`, annotates the
    message group, runs `work`, then annotates `on_success(result)`; when `work` raises one of
    `errors` it annotates `on_error(err)` (default: `message_id()`, the id known so far, and the
    error's class name as the outcome) and re-raises it unchanged.
    """

    def error_annotations(err: PipelineError) -> Annotations:
        if on_error is not None:
            return on_error(err)
        return {"message_id": message_id(), "outcome": type(err).__name__}

    def decorate(work: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Any, Any], Any]:
        @functools.wraps(work)
        def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
            record = sqs_record.unwrap(event)
            with subsegment(f"## {function}"):
                annotate(message_group_id=sqs_record.message_group_id(record))
                try:
                    result = work(record)
                except errors as err:
                    annotate(**error_annotations(err))
                    raise
                annotate(**on_success(result))
                return result

        return lambda_handler

    return decorate
