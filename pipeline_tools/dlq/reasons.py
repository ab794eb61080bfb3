"""Why each message is in the DLQ, and whether it is already stored.

- Quarantined by the workflow: the message attributes QuarantineMessage set (reason,
  reason_detail, source_message_id, execution_id).
- Moved by SQS after maxReceiveCount failed receives: no attributes at all, so the reason is
  reconstructed from the executions that carried the message (the message keeps its SQS message
  id in the DLQ): the last error, the state it happened in, and the number of failed receives.
  The executions are read with the run-inspection code (Step Functions ListExecutions and
  GetExecutionHistory); where that history is not available (AWS keeps none for Express
  workflows) the reason is "unknown" with what to turn on instead (HISTORY_HINT).
"""

from __future__ import annotations

from typing import Any

from pipeline_tools.runs.history import parse_iterations
from pipeline_tools.runs.reader import RunReader, RunSummary

from . import messages
from .messages import DEAD_LETTERED, DeadLetter, cause_text

UNKNOWN = "unknown"
HISTORY_HINT = (
    "execution history is not available ({error}). AWS keeps no history for Express executions: "
    "at ExecutionLogLevel ERROR the state machine's log group holds each failed execution's "
    "error; set ExecutionLogLevel=ALL (template parameter) to log every state with its input, "
    "or search the functions' log groups /aws/lambda/<function> for trace_id = the message_id"
)
NO_EXECUTION = (
    "no execution carried this message: the pipe's invocations failed before the workflow "
    "started (see the pipe's logs and the state machine's ExecutionsFailed/Throttled metrics)"
)
_FAILED = ("FAILED", "NOT_RUN")


def runs_by_sqs_message_id(reader: RunReader) -> dict[str, list[RunSummary]]:
    """Every run of every execution, by the SQS message id of its record (oldest first)."""
    index: dict[str, list[RunSummary]] = {}
    for execution in reader.executions():
        for run in reader.runs_of(execution):
            if run.sqs_message_id:
                index.setdefault(run.sqs_message_id, []).append(run)
    for runs in index.values():
        runs.sort(key=lambda r: (r.started or 0, r.index))
    return index


def _failed_state(reader: RunReader, run: RunSummary) -> tuple[str | None, str | None]:
    """(state, cause) of the last error in a run's iteration."""
    iteration = parse_iterations(reader.history(run.execution_arn, run.execution_status)).get(
        run.index
    )
    for step in reversed(iteration.steps if iteration else []):
        if step.error:
            return step.name, cause_text(step.cause)
    return None, None


def explain(letters: list[DeadLetter], reader: RunReader | None) -> None:
    """Fill in runs and, for messages SQS moved, the reconstructed reason."""
    if reader is None:
        index: dict[str, list[RunSummary]] | None = None
        unavailable = "no Step Functions client"
    else:
        try:
            index = runs_by_sqs_message_id(reader)
            unavailable = ""
        except Exception as exc:  # AWS Express: StateMachineTypeNotSupported; or AccessDenied
            index, unavailable = None, _error_name(exc)
    for letter in letters:
        runs = (index or {}).get(letter.source_message_id, [])
        letter.runs = [run.run_id for run in runs]
        if letter.kind != DEAD_LETTERED:
            continue
        if index is None:
            letter.reason, letter.reason_detail = UNKNOWN, HISTORY_HINT.format(error=unavailable)
            continue
        failed = [run for run in runs if run.status in _FAILED]
        letter.failed_receives = len(failed)
        if not failed:
            letter.reason, letter.reason_detail = UNKNOWN, NO_EXECUTION
            continue
        last = failed[-1]
        state, cause = _failed_state(reader, last) if reader else (None, None)
        letter.reason = last.reason or ("not-run" if last.status == "NOT_RUN" else UNKNOWN)
        letter.failed_state = state
        letter.reason_detail = (
            f"{len(failed)} failed receive(s); last in {last.run_id}"
            + (f" at state {state}" if state else "")
            + (f": {cause[:300]}" if cause else "")
        )


def mark_stored(letters: list[DeadLetter], dynamodb: Any, table: str | None) -> None:
    """letter.stored = is its message_id in the table (GetItem, consistent)."""
    if dynamodb is None or not table:
        return
    for letter in letters:
        if letter.message_id:
            item = dynamodb.get_item(
                TableName=table,
                Key={"message_id": {"S": letter.message_id}},
                ConsistentRead=True,
                ProjectionExpression="message_id",
            ).get("Item")
            letter.stored = item is not None


def _error_name(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        return str(response["Error"]["Code"])
    return type(exc).__name__


def read_explained(
    sqs: Any, dynamodb: Any, reader: RunReader | None, dlq_url: str, table: str | None
) -> tuple[list[DeadLetter], int]:
    """One pass over the DLQ (left as it was), every message explained: (messages, unread)."""
    letters, unread = messages.read(sqs, dlq_url)
    explain(letters, reader)
    mark_stored(letters, dynamodb, table)
    return letters, unread
