"""A run's Lambda log lines: CloudWatch Logs events grouped into invocations (START … REPORT)
and the lines that belong to one message."""

from __future__ import annotations

from typing import Any

from pipeline_tools.runs.history import loads


def group_invocations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group log events into invocations per stream (START RequestId … REPORT RequestId)."""
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_stream.setdefault(event.get("logStreamName", ""), []).append(event)
    out = []
    for stream, stream_events in by_stream.items():
        current: dict[str, Any] | None = None
        for event in sorted(stream_events, key=lambda e: (e["timestamp"], event_seq(e))):
            message = event.get("message", "")
            if message.startswith("START RequestId:"):
                current = {
                    "stream": stream,
                    "request_id": message.split()[2],
                    "events": [],
                }
                out.append(current)
            if current is None:
                current = {"stream": stream, "request_id": None, "events": []}
                out.append(current)
            current["events"].append(event)
            if message.startswith("REPORT RequestId:"):
                current = None
    return out


def event_seq(event: dict[str, Any]) -> int:
    try:
        return int(event.get("eventId", 0))
    except (TypeError, ValueError):
        return 0


def belongs_to_run(invocation: dict[str, Any], keys: set[str], request_ids: set[str]) -> bool:
    if invocation["request_id"] and invocation["request_id"] in request_ids:
        return True
    for event in invocation["events"]:
        data = loads(event.get("message"))
        if isinstance(data, dict) and (
            data.get("trace_id") in keys or data.get("message_id") in keys
        ):
            return True
    return False


def log_line(function: str, invocation: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    message = event.get("message", "")
    data = loads(message)
    kind = "text"
    if isinstance(data, dict):
        kind = "emf" if "_aws" in data else "json"
    elif message.startswith(("START RequestId", "END RequestId", "REPORT RequestId")):
        kind = "platform"
    return {
        "timestamp": event["timestamp"] / 1000,
        "function": function,
        "stream": invocation["stream"],
        "request_id": invocation["request_id"],
        "kind": kind,
        "message": message,
        "seq": event_seq(event),
    }
