"""One run's X-Ray trace, flattened for display (depth, name, kind, start, end, error)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pipeline_tools.runs.text import preview

if TYPE_CHECKING:
    from pipeline_tools.runs.reader import RunSummary


def run_trace(documents: list[dict[str, Any]], run: RunSummary) -> list[dict[str, Any]]:
    """The run's entities of an execution trace, as a depth-first list.

    Segments are linked to their parents by parent_id (which may be a subsegment of another
    segment). The execution's segment keeps only the state subsegments of this run (its Map
    iteration); Lambda segments outside the run's time window are other runs of the batch."""
    if run.started is None:
        return []
    lo, hi = run.started - 0.005, (run.stopped or time.time()) + 0.005
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []

    def node(entity: dict[str, Any], kind: str) -> dict[str, Any]:
        item = {"entity": entity, "kind": kind, "children": []}
        nodes[entity["id"]] = item
        for child in entity.get("subsegments") or []:
            item["children"].append(node(child, "subsegment"))
        return item

    segments = [node(doc, "segment") for doc in documents]
    for item in segments:
        parent = nodes.get(item["entity"].get("parent_id") or "")
        (parent["children"] if parent else roots).append(item)

    def in_run(item: dict[str, Any]) -> bool:
        """A state of this run's Map iteration, or anything overlapping the run's window."""
        entity = item["entity"]
        state = (entity.get("metadata") or {}).get("state") or {}
        if "map_iteration" in state:
            return state["map_iteration"] == run.index
        start = entity.get("start_time", 0)
        return start <= hi and entity.get("end_time", start) >= lo

    out: list[dict[str, Any]] = []

    def emit(item: dict[str, Any], depth: int, in_execution: bool) -> None:
        entity = item["entity"]
        children = sorted(item["children"], key=lambda c: c["entity"].get("start_time", 0))
        if in_execution:
            children = [c for c in children if in_run(c)]
        start, end = entity.get("start_time"), entity.get("end_time")
        aws = entity.get("aws") or {}
        out.append(
            {
                "depth": depth,
                "id": entity["id"],
                "name": entity.get("name"),
                "origin": entity.get("origin"),
                "kind": item["kind"],
                "namespace": entity.get("namespace"),
                "operation": aws.get("operation"),
                "start": start,
                "end": end,
                "duration_ms": round((end - start) * 1000, 3) if start and end else None,
                "error": bool(entity.get("error")),
                "fault": bool(entity.get("fault")),
                "throttle": bool(entity.get("throttle")),
                "annotations": entity.get("annotations") or {},
                "http_status": ((entity.get("http") or {}).get("response") or {}).get("status"),
                "cause": _first_exception(entity),
            }
        )
        for child in children:
            # below the execution's segment: its state subsegments (not the Lambda segments)
            emit(child, depth + 1, in_execution and child["kind"] == "subsegment")

    for item in sorted(roots, key=lambda r: r["entity"].get("start_time", 0)):
        execution = item["entity"].get("origin") == "AWS::StepFunctions::StateMachine"
        if execution or in_run(item):
            emit(item, 0, execution)
    return out


def _first_exception(entity: dict[str, Any]) -> str | None:
    cause = entity.get("cause")
    if not isinstance(cause, dict):
        return None
    for exception in cause.get("exceptions") or []:
        text = exception.get("type") or ""
        if exception.get("message"):
            text += f": {exception['message']}"
        return preview(text, 200)
    return None
