"""Local X-Ray's trace store: segment documents by trace id, merged into trees when read.

Also the subset of GetTraceSummaries filter expressions the store answers: `annotation.KEY =
"value"` (or `!=`, numbers, `true`/`false`), `service("name")`, `id("trace-id")`, `error`,
`fault`, `ok`, joined with `AND`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

MAX_TRACES = (
    20_000  # oldest traces are dropped beyond this (a long benchmark must not grow forever)
)


class SegmentError(ValueError):
    def __init__(self, segment_id: str | None, code: str, message: str):
        super().__init__(message)
        self.segment_id = segment_id
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        out = {"ErrorCode": self.code, "Message": self.message}
        if self.segment_id:
            out["Id"] = self.segment_id
        return out


class TraceStore:
    """Segment and subsegment documents by trace id; merged into segment trees when read."""

    def __init__(self, max_traces: int = MAX_TRACES) -> None:
        self.max_traces = max_traces
        self._lock = threading.Lock()
        # trace id -> entity id -> document (a segment, or an independent subsegment)
        self._traces: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()

    def put(self, document: str | dict[str, Any]) -> None:
        """Store one segment document (JSON text or dict). Raises SegmentError if it is invalid."""
        if isinstance(document, str | bytes):
            try:
                doc = json.loads(document)
            except ValueError as exc:
                raise SegmentError(None, "InvalidDocument", f"not JSON: {exc}") from exc
        else:
            doc = copy.deepcopy(document)
        if not isinstance(doc, dict):
            raise SegmentError(None, "InvalidDocument", "a segment document is a JSON object")
        seg_id = doc.get("id")
        for key in ("id", "trace_id", "name", "start_time"):
            if key not in doc:
                raise SegmentError(seg_id, "MissingParam", f"segment is missing {key!r}")
        if "end_time" not in doc and not doc.get("in_progress"):
            raise SegmentError(seg_id, "MissingParam", "segment needs end_time or in_progress")
        if doc.get("type") == "subsegment" and not doc.get("parent_id"):
            raise SegmentError(seg_id, "MissingParam", "an independent subsegment needs parent_id")
        with self._lock:
            entities = self._traces.get(doc["trace_id"])
            if entities is None:
                entities = self._traces[doc["trace_id"]] = {}
                while len(self._traces) > self.max_traces:
                    self._traces.popitem(last=False)
            entities[seg_id] = doc

    def update(self, trace_id: str, entity_id: str, **fields: Any) -> bool:
        """Change top-level fields of a stored document (e.g. parent_id); False if unknown."""
        with self._lock:
            doc = self._traces.get(trace_id, {}).get(entity_id)
            if doc is None:
                return False
            doc.update(fields)
            return True

    def documents(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._traces.get(trace_id, {}).values()))

    def trace_ids(self) -> list[str]:
        with self._lock:
            return list(self._traces)

    # -- reading ------------------------------------------------------------------------------
    def segments(self, trace_id: str) -> list[dict[str, Any]]:
        """The trace's segments, each with its subsegments (independent ones merged in)."""
        docs = self.documents(trace_id)
        segments = [d for d in docs if d.get("type") != "subsegment"]
        loose = [d for d in docs if d.get("type") == "subsegment"]
        index: dict[str, dict[str, Any]] = {}

        def register(entity: dict[str, Any]) -> None:
            index[entity["id"]] = entity
            for child in entity.get("subsegments") or []:
                register(child)

        for entity in segments + loose:
            register(entity)
        functions = [s for s in segments if s.get("origin") == "AWS::Lambda::Function"]
        orphans = []
        placed = []
        for sub in loose:
            parent = index.get(sub.get("parent_id", ""))
            if parent is not None and parent.get("origin") == "AWS::Lambda::Function":
                parent = _invocation_of(sub, parent, functions)
            if parent is None or parent is sub:
                orphans.append(sub)
            else:
                parent.setdefault("subsegments", []).append(sub)
                placed.append(sub)
        for sub in placed:  # merged into its parent: no longer an independent document
            for key in ("type", "trace_id", "parent_id"):
                sub.pop(key, None)

        def order(entity: dict[str, Any]) -> None:
            children = entity.get("subsegments")
            if children:
                children.sort(key=lambda c: c.get("start_time", 0))
                for child in children:
                    order(child)

        for entity in segments:
            order(entity)
        # A subsegment whose parent never arrived is still returned (as AWS would not; it is
        # more useful to see it locally).
        return sorted(segments + orphans, key=lambda s: s.get("start_time", 0))

    def summary(self, trace_id: str) -> dict[str, Any] | None:
        segments = self.segments(trace_id)
        if not segments:
            return None
        entities = list(_walk(segments))
        start = min(e["start_time"] for e in entities)
        end = max(e.get("end_time", e["start_time"]) for e in entities)
        roots = [s for s in segments if not s.get("parent_id")] or segments
        root = min(roots, key=lambda s: s["start_time"])
        annotations: dict[str, list[dict[str, Any]]] = {}
        for entity in entities:
            for key, value in (entity.get("annotations") or {}).items():
                values = annotations.setdefault(key, [])
                wrapped = _annotation_value(value)
                if all(v["AnnotationValue"] != wrapped for v in values):
                    values.append({"AnnotationValue": wrapped, "ServiceIds": []})
        services = []
        for segment in segments:
            if segment.get("type") == "subsegment":
                continue
            service = {"Name": segment["name"], "Names": [segment["name"]]}
            if segment.get("origin"):
                service["Type"] = segment["origin"]
            if service not in services:
                services.append(service)
        arns = sorted({s["resource_arn"] for s in segments if s.get("resource_arn")})
        return {
            "Id": trace_id,
            "StartTime": start,
            "Duration": round(end - start, 6),
            "ResponseTime": round(root.get("end_time", root["start_time"]) - root["start_time"], 6),
            "HasFault": any(e.get("fault") for e in entities),
            "HasError": any(e.get("error") for e in entities),
            "HasThrottle": any(e.get("throttle") for e in entities),
            "IsPartial": any(e.get("in_progress") for e in entities),
            "Annotations": annotations,
            "ServiceIds": services,
            "ResourceARNs": [{"ARN": arn} for arn in arns],
            "EntryPoint": services[0] if services else {},
            "Http": {},
            "Users": [],
        }

    def summaries(
        self, start: float, end: float, filter_expression: str | None = None
    ) -> list[dict[str, Any]]:
        predicate = parse_filter(filter_expression)
        out = []
        for trace_id in self.trace_ids():
            summary = self.summary(trace_id)
            if summary is None or not start <= summary["StartTime"] <= end:
                continue
            if predicate(summary, self):
                out.append(summary)
        return sorted(out, key=lambda s: s["StartTime"], reverse=True)

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        segments = self.segments(trace_id)
        if not segments:
            return None
        entities = list(_walk(segments))
        start = min(e["start_time"] for e in entities)
        end = max(e.get("end_time", e["start_time"]) for e in entities)
        return {
            "Id": trace_id,
            "Duration": round(end - start, 6),
            "LimitExceeded": False,
            "Segments": [
                {"Id": s["id"], "Document": json.dumps(s, separators=(",", ":"))} for s in segments
            ],
        }


def _invocation_of(
    sub: dict[str, Any], parent: dict[str, Any], functions: list[dict[str, Any]]
) -> dict[str, Any]:
    """The function segment (invocation) a subsegment really belongs to.

    aws-xray-sdk in Lambda keeps its facade segment while `_X_AMZN_TRACE_ID` has the same Root
    (lambda_launcher.LambdaContext._refresh_context compares the Root only), so when one warm
    worker runs several invocations of the same trace (Step Functions retries, or several records
    of one batch) the later invocations' subsegments name the first invocation's segment as
    parent. They are moved under the invocation whose time span holds them.
    """
    start = sub.get("start_time", 0)
    if parent["start_time"] - 0.001 <= start <= parent.get("end_time", start) + 0.001:
        return parent
    for candidate in functions:
        if candidate["name"] == parent["name"] and (
            candidate["start_time"] - 0.001 <= start <= candidate.get("end_time", start) + 0.001
        ):
            return candidate
    return parent


def _walk(entities: Iterable[dict[str, Any]]):
    for entity in entities:
        yield entity
        yield from _walk(entity.get("subsegments") or [])


def _annotation_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, int | float):
        return {"NumberValue": value}
    return {"StringValue": str(value)}


_FILTER_TERM = re.compile(
    r"""\s*(?:
        annotation\.(?P<key>[A-Za-z0-9_]+)\s*(?P<op>=|!=)\s*(?P<value>"[^"]*"|[-0-9.]+|true|false)
      | service\(\s*"(?P<service>[^"]*)"\s*\)
      | id\(\s*"(?P<trace>[^"]*)"\s*\)
      | (?P<flag>error|fault|throttle|ok)
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_filter(expression: str | None):
    """A predicate(summary, store) for the supported subset of X-Ray filter expressions."""
    if not expression or not expression.strip():
        return lambda summary, store: True
    tests = []
    for term in re.split(r"\s+(?:AND|and)\s+|\s*&&\s*", expression.strip()):
        match = _FILTER_TERM.match(term)
        if match is None:
            raise SegmentError(
                None,
                "InvalidRequestException",
                f"unsupported filter expression term {term!r} (local X-Ray supports "
                'annotation.KEY = "value", service("name"), id("trace-id"), error, fault, '
                "throttle, ok, joined with AND)",
            )
        tests.append(_term_test(match))
    return lambda summary, store: all(test(summary) for test in tests)


def _term_test(match: re.Match[str]):
    if match.group("key"):
        key, op, raw = match.group("key"), match.group("op"), match.group("value")
        if raw.startswith('"'):
            wanted: Any = {"StringValue": raw[1:-1]}
        elif raw in ("true", "false"):
            wanted = {"BooleanValue": raw == "true"}
        else:
            wanted = {"NumberValue": float(raw)}

        def annotation(summary: dict[str, Any]) -> bool:
            values = [v["AnnotationValue"] for v in summary["Annotations"].get(key, [])]
            if "NumberValue" in wanted:
                values = [
                    {"NumberValue": float(v["NumberValue"])} for v in values if "NumberValue" in v
                ]
            found = wanted in values
            return found if op == "=" else (bool(values) and not found)

        return annotation
    if match.group("service") is not None:
        name = match.group("service")
        return lambda summary: any(name in s.get("Names", []) for s in summary["ServiceIds"])
    if match.group("trace") is not None:
        trace = match.group("trace")
        return lambda summary: summary["Id"] == trace
    flag = match.group("flag").lower()
    if flag == "ok":
        return lambda summary: not (summary["HasError"] or summary["HasFault"])
    key = {"error": "HasError", "fault": "HasFault", "throttle": "HasThrottle"}[flag]
    return lambda summary: summary[key]
