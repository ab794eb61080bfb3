"""An execution history of the workflow, split into per-record runs: the one parser.

The pipe hands the workflow a batch of SQS records and the workflow's Map state handles one
record per iteration. `parse_iterations` turns a GetExecutionHistory event list into those
iterations, each with the states it entered, every Task attempt (status, error, cause, output)
and its end. The inspection tools, the demo's observer and the chaos checker all read runs
through it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TaskAttempt:
    scheduled: float | None
    ended: float | None
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | RUNNING
    resource: str | None = None
    error: str | None = None
    cause: str | None = None
    output: str | None = None
    parameters: str | None = None
    request_id: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.scheduled is None or self.ended is None:
            return None
        return round((self.ended - self.scheduled) * 1000, 3)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duration_ms": self.duration_ms}


@dataclass
class StateStep:
    name: str
    type: str  # Task | Choice | Fail | Succeed | Pass | ...
    entered: float | None
    exited: float | None
    input: str | None = None
    output: str | None = None
    attempts: list[TaskAttempt] = field(default_factory=list)
    status: str = "SUCCEEDED"  # SUCCEEDED | CAUGHT | FAILED | RUNNING
    error: str | None = None  # the error that was caught, or that failed the iteration
    cause: str | None = None
    next: str | None = None  # the state entered after this one

    @property
    def duration_ms(self) -> float | None:
        if self.entered is None or self.exited is None:
            return None
        return round((self.exited - self.entered) * 1000, 3)

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["attempts"] = [a.to_dict() for a in self.attempts]
        out["duration_ms"] = self.duration_ms
        out["retries"] = self.retries
        return out


def epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    return float(value)


def loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


@dataclass
class Iteration:
    index: int
    started: float | None = None
    stopped: float | None = None
    status: str | None = None  # MapIterationSucceeded/Failed/Aborted
    steps: list[StateStep] = field(default_factory=list)


def parse_iterations(events: list[dict[str, Any]]) -> dict[int, Iteration]:
    """Split a history into Map iterations with their state steps.

    The workflow's Map runs with MaxConcurrency 1 (docs/contract.md), so iterations do not
    interleave: every event between MapIterationStarted and MapIteration{Succeeded,Failed,
    Aborted} belongs to that iteration."""
    iterations: dict[int, Iteration] = {}
    current: Iteration | None = None
    for event in events:
        etype = event["type"]
        when = epoch(event.get("timestamp"))
        if etype == "MapIterationStarted":
            index = int(event["mapIterationStartedEventDetails"].get("index", 0))
            current = iterations[index] = Iteration(index=index, started=when)
            continue
        if current is None:
            continue
        if etype in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            current.status, current.stopped = etype, when
            _close_open_step(current.steps, when, failed=etype != "MapIterationSucceeded")
            current = None
            continue
        steps = current.steps
        if etype.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            if steps and steps[-1].next is None:
                steps[-1].next = details["name"]
            steps.append(
                StateStep(
                    name=details["name"],
                    type=etype[: -len("StateEntered")],
                    entered=when,
                    exited=None,
                    input=details.get("input"),
                    status="RUNNING",
                )
            )
        elif not steps:
            continue
        elif etype.endswith("StateExited"):
            step = steps[-1]
            step.exited = when
            step.output = event["stateExitedEventDetails"].get("output")
            failed_last = step.attempts and step.attempts[-1].status in ("FAILED", "TIMED_OUT")
            step.status = "CAUGHT" if failed_last else "SUCCEEDED"
            if failed_last:
                step.error, step.cause = step.attempts[-1].error, step.attempts[-1].cause
        elif etype == "TaskScheduled":
            details = event.get("taskScheduledEventDetails") or {}
            steps[-1].attempts.append(
                TaskAttempt(
                    scheduled=when,
                    ended=None,
                    status="RUNNING",
                    resource=f"{details.get('resourceType', '')}:{details.get('resource', '')}",
                    parameters=details.get("parameters"),
                )
            )
        elif etype in ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStartFailed",
                       "TaskSubmitFailed"):  # fmt: skip
            if not steps[-1].attempts:
                steps[-1].attempts.append(TaskAttempt(scheduled=when, ended=None, status=""))
            attempt = steps[-1].attempts[-1]
            attempt.ended = when
            key = etype[0].lower() + etype[1:] + "EventDetails"
            details = event.get(key) or {}
            if etype == "TaskSucceeded":
                attempt.status = "SUCCEEDED"
                attempt.output = details.get("output")
            else:
                attempt.status = "TIMED_OUT" if etype == "TaskTimedOut" else "FAILED"
                attempt.error = details.get("error") or etype
                attempt.cause = details.get("cause")
                cause = loads(attempt.cause)
                if isinstance(cause, dict) and isinstance(cause.get("requestId"), str):
                    attempt.request_id = cause["requestId"]
        elif etype in ("FailStateEntered",):
            pass
    for iteration in iterations.values():
        if iteration.status is None:
            _close_open_step(iteration.steps, None, failed=False)
    return iterations


def _close_open_step(steps: list[StateStep], when: float | None, *, failed: bool) -> None:
    if not steps or steps[-1].status != "RUNNING":
        return
    step = steps[-1]
    if when is not None:
        step.exited = when
    if step.type == "Fail":
        step.status = "FAILED"
    elif failed:
        step.status = "FAILED"
        if step.attempts and step.attempts[-1].error:
            step.error, step.cause = step.attempts[-1].error, step.attempts[-1].cause
    elif when is not None:
        step.status = "SUCCEEDED"
