"""The X-Ray API on the local endpoint, answered from the trace store.

`PutTraceSegments`, `GetTraceSummaries`, `BatchGetTraces` (each segment with its subsegments
merged in, independent subsegment documents included, as AWS does) and `GetTraceGraph`, so boto3
and the AWS CLI read local traces as they would on AWS.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from local_aws.core.errors import error_response
from local_aws.core.requests import RequestInfo
from local_aws.xray.store import SegmentError, TraceStore

PATHS = ("/TraceSegments", "/TraceSummaries", "/Traces", "/TraceGraph")


class XRayApi:
    """A WSGI app for the X-Ray API paths."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store

    # -- the API ------------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response):
        path = environ.get("PATH_INFO", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            params = json.loads(raw or b"{}")
            status, headers, data = 200, [("Content-Type", "application/json")], b""
            data = json.dumps(self.handle(path, params)).encode("utf-8")
        except SegmentError as exc:
            status, headers, data = self._error(path, exc.code, exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            status, headers, data = self._error(path, "InvalidRequestException", str(exc))
        start_response(
            "200 OK" if status == 200 else f"{status} Bad Request",
            [*headers, ("Content-Length", str(len(data)))],
        )
        return [data]

    @staticmethod
    def _error(path: str, code: str, message: str):
        info = RequestInfo("xray", path.strip("/"), "rest-json")
        return error_response(info, code, message, http_status=400)

    def handle(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        if path == "/TraceSegments":
            unprocessed = []
            for document in params.get("TraceSegmentDocuments") or []:
                try:
                    self.store.put(document)
                except SegmentError as exc:
                    unprocessed.append(exc.to_dict())
            return {"UnprocessedTraceSegments": unprocessed}
        if path == "/TraceSummaries":
            for key in ("StartTime", "EndTime"):
                if key not in params:
                    raise SegmentError(None, "InvalidRequestException", f"{key} is required")
            summaries = self.store.summaries(
                _timestamp(params["StartTime"]),
                _timestamp(params["EndTime"]),
                params.get("FilterExpression"),
            )
            return {
                "TraceSummaries": summaries,
                "ApproximateTime": dt.datetime.now(dt.UTC).timestamp(),
                "TracesProcessedCount": len(summaries),
            }
        if path == "/Traces":
            traces, unprocessed = [], []
            for trace_id in params.get("TraceIds") or []:
                trace = self.store.trace(trace_id)
                if trace is None:
                    unprocessed.append(trace_id)
                else:
                    traces.append(trace)
            return {"Traces": traces, "UnprocessedTraceIds": unprocessed}
        if path == "/TraceGraph":
            services: dict[str, dict[str, Any]] = {}
            for trace_id in params.get("TraceIds") or []:
                for segment in self.store.segments(trace_id):
                    name = segment["name"]
                    entry = services.setdefault(
                        name,
                        {
                            "ReferenceId": len(services),
                            "Name": name,
                            "Names": [name],
                            "Type": segment.get("origin", ""),
                            "Root": not segment.get("parent_id"),
                            "State": "active",
                            "Edges": [],
                        },
                    )
                    entry["Root"] = entry["Root"] and not segment.get("parent_id")
            return {"Services": list(services.values())}
        raise SegmentError(None, "InvalidRequestException", f"unknown X-Ray operation {path}")


def _timestamp(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
