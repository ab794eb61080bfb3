"""Local X-Ray: a daemon, the segments AWS services record, and the X-Ray API on the endpoint.

What AWS does, and what this module does in its place:
- In Lambda, aws-xray-sdk sends each closed subsegment as a UDP datagram to the X-Ray daemon at
  `AWS_XRAY_DAEMON_ADDRESS`; the Lambda service itself records the function's segments. Here a
  UDP listener in the stack process stores those documents, the runtime gets the daemon address
  through `lambdas.extra_env`, and every invocation is recorded as an `AWS::Lambda` segment (the
  service; parent: the caller's segment) with an `AWS::Lambda::Function` segment under it whose id
  is the `Parent` of the function's `_X_AMZN_TRACE_ID`, so the SDK's subsegments (DynamoDB, SQS,
  the handler's own) hang under it.
- Step Functions with tracing records a segment per execution (`AWS::StepFunctions::StateMachine`)
  with a subsegment per state; the Lambdas a Task invokes are children of that state's subsegment.
  Here the execution's segment id is the `Parent` of the trace header its Lambda invocations get
  (local_aws/stepfunctions/executions.py), and the segment is written when the execution
  terminates, from its history; each Lambda segment is then re-parented under the Task state it
  ran in.
- The X-Ray API (`PutTraceSegments`, `GetTraceSummaries`, `BatchGetTraces`, `GetTraceGraph`) is
  answered on the local endpoint from this store, so boto3, the AWS CLI and `python -m local_aws
  runs` read traces as they would in AWS. `BatchGetTraces` returns each segment with its
  subsegments merged in (independent subsegment documents included), as AWS does.
  `GetTraceSummaries` supports a subset of filter expressions: `annotation.KEY = "value"` (or
  `!=`, numbers, `true`/`false`), `service("name")`, `id("trace-id")`, `error`, `fault`, `ok`,
  joined with `AND`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import secrets
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

LOG = logging.getLogger("local_aws.xray")

DAEMON_HEADER = '{"format": "json", "version": 1}'
MAX_TRACES = (
    20_000  # oldest traces are dropped beyond this (a long benchmark must not grow forever)
)


def trace_root(header: str | None) -> str | None:
    """The `Root=` of an X-Amzn-Trace-Id header (or the header itself if it is a bare trace id)."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == "Root":
            return value or None
        if not sep and key.startswith("1-"):
            return key
    return None


def trace_parent(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Parent" and value:
            return value
    return None


def new_id() -> str:
    return secrets.token_hex(8)


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


# --------------------------------------------------------------------------------- the store


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


# --------------------------------------------------------------------------------- the daemon


class XRayDaemon:
    """The UDP listener the SDKs send to (`AWS_XRAY_DAEMON_ADDRESS`), writing into a TraceStore."""

    def __init__(self, store: TraceStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.received = 0
        self.rejected = 0
        self._thread = threading.Thread(target=self._loop, name="local-xray-daemon", daemon=True)
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> XRayDaemon:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:  # wake the blocking recvfrom
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", (self.host, self.port))
        except OSError:
            pass
        self._thread.join(timeout=2)
        self._socket.close()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                data, _ = self._socket.recvfrom(65535)
            except OSError:
                return
            if not data or self._stopped.is_set():
                continue
            self.handle(data)

    def handle(self, data: bytes) -> None:
        """One datagram: the daemon protocol header line, then one segment document."""
        text = data.decode("utf-8", "replace")
        header, sep, body = text.partition("\n")
        if not sep:
            body = header
        try:
            self.store.put(body)
            self.received += 1
        except SegmentError as exc:
            self.rejected += 1
            LOG.debug("X-Ray daemon rejected a segment: %s", exc.message)


# ------------------------------------------------------------------------ AWS-recorded segments


class LocalXRay:
    """The store, the daemon, the segments AWS services record, and the X-Ray API (WSGI)."""

    API_PATHS = ("/TraceSegments", "/TraceSummaries", "/Traces", "/TraceGraph")

    def __init__(self, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.account_id = account_id
        self.region = region
        self.store = TraceStore()
        self.daemon: XRayDaemon | None = None

    # -- wiring -------------------------------------------------------------------------------
    def attach(self, aws: Any) -> LocalXRay:
        """Start the daemon and hook into a LocalAWS: Lambda env + invocations, executions, API."""
        self.account_id, self.region = aws.account_id, aws.region
        if self.daemon is None:
            self.daemon = XRayDaemon(self.store).start()
        aws.lambdas.extra_env["AWS_XRAY_DAEMON_ADDRESS"] = self.daemon.address
        if self.on_invocation not in aws.lambdas.invocation_listeners:
            aws.lambdas.invocation_listeners.append(self.on_invocation)
        if self.on_execution_end not in aws.stepfunctions.execution_listeners:
            aws.stepfunctions.execution_listeners.append(self.on_execution_end)
        for path in self.API_PATHS:
            aws.mount(path, self.wsgi)
        return self

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    # -- Lambda -------------------------------------------------------------------------------
    def on_invocation(self, record: Any, caller_header: str | None) -> None:
        """An `AWS::Lambda` segment and an `AWS::Lambda::Function` segment per invocation."""
        root, function_segment_id = trace_root(record.trace_id), trace_parent(record.trace_id)
        if not root or not function_segment_id or "Sampled=0" in record.trace_id:
            return
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{record.function}"
        start = record.started_at
        init_s = (record.init_ms or 0.0) / 1000
        run_start = start + init_s
        end = run_start + record.duration_ms / 1000
        service_id = new_id()
        service: dict[str, Any] = {
            "id": service_id,
            "trace_id": root,
            "name": record.function,
            "origin": "AWS::Lambda",
            "start_time": start,
            "end_time": end,
            "resource_arn": arn,
            "aws": {"request_id": record.request_id, "account_id": self.account_id},
            "http": {"response": {"status": 200}},
        }
        caller = trace_parent(caller_header)
        if caller:
            service["parent_id"] = caller
        function: dict[str, Any] = {
            "id": function_segment_id,
            "trace_id": root,
            "parent_id": service_id,
            "name": record.function,
            "origin": "AWS::Lambda::Function",
            "start_time": start,
            "end_time": end,
            "resource_arn": arn,
            "aws": {
                "account_id": self.account_id,
                "function_arn": arn,
                "resource_names": [record.function],
                "request_id": record.request_id,
                "cold_start": record.cold,
            },
            "subsegments": [],
        }
        if record.cold and record.init_ms is not None:
            function["subsegments"].append(
                {
                    "id": new_id(),
                    "name": "Initialization",
                    "start_time": start,
                    "end_time": run_start,
                }
            )
        invocation: dict[str, Any] = {
            "id": new_id(),
            "name": "Invocation",
            "start_time": run_start,
            "end_time": end,
        }
        if record.error_type:
            function["fault"] = invocation["fault"] = True
            function["cause"] = {"exceptions": [{"id": new_id(), "type": record.error_type}]}
            service["error"] = True
        function["subsegments"].append(invocation)
        self.store.put(service)
        self.store.put(function)

    # -- Step Functions -----------------------------------------------------------------------
    def on_execution_end(self, execution: Any) -> None:
        """The execution's segment, a subsegment per state; Lambda segments go under their Task."""
        segment_id = getattr(execution, "xray_segment_id", None)
        header = execution.trace_header or ""
        root = trace_root(header)
        if not segment_id or not root or "Sampled=0" in header:
            return
        events = execution.to_history_output().get("events", [])
        start = _epoch(execution.start_date)
        end = _epoch(execution.stop_date) or (_epoch(events[-1]["timestamp"]) if events else start)
        states = _state_spans(events)
        status = str(getattr(execution.exec_status, "value", execution.exec_status))
        segment: dict[str, Any] = {
            "id": segment_id,
            "trace_id": root,
            "name": execution.state_machine.name,
            "origin": "AWS::StepFunctions::StateMachine",
            "start_time": start,
            "end_time": max(end, start),
            "resource_arn": execution.exec_arn,
            "aws": {
                "execution_arn": execution.exec_arn,
                "state_machine_arn": getattr(execution.state_machine, "arn", None),
            },
            "annotations": {"execution_status": status},
            "subsegments": [],
        }
        parent = trace_parent(header)
        if parent:
            segment["parent_id"] = parent
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            segment["fault"] = True
            if execution.error:
                segment["cause"] = {
                    "exceptions": [
                        {"id": new_id(), "type": execution.error, "message": execution.cause or ""}
                    ]
                }
        subsegments = []
        container: dict[str, Any] | None = None  # the Map state holding iteration states
        for span in states:
            sub: dict[str, Any] = {
                "id": new_id(),
                "name": span["name"],
                "start_time": span["start"],
                "end_time": span["end"],
                "metadata": {"state": {"type": span["type"]}},
            }
            if span.get("error"):
                sub["error"] = True
                sub["cause"] = {
                    "exceptions": [
                        {"id": new_id(), "type": span["error"], "message": span.get("cause", "")}
                    ]
                }
            subsegments.append(sub)
            if span.get("iteration") is not None and container is not None:
                sub["metadata"]["state"]["map_iteration"] = span["iteration"]
                container.setdefault("subsegments", []).append(sub)
            else:
                segment["subsegments"].append(sub)
            if span["type"] == "Map":
                container = sub
        self.store.put(segment)
        # Lambda segments invoked by this execution: under the Task state that invoked them.
        tasks = [(s, sub) for s, sub in zip(states, subsegments, strict=True) if s.get("functions")]
        for doc in self.store.documents(root):
            if doc.get("origin") != "AWS::Lambda" or doc.get("parent_id") != segment_id:
                continue
            candidates = [
                (span["start"], sub)
                for span, sub in tasks
                if doc["name"] in span["functions"]
                and span["start"] - 0.002 <= doc["start_time"] <= span["end"] + 0.002
            ]
            if candidates:  # the latest state that invoked this function before it started
                self.store.update(root, doc["id"], parent_id=max(candidates)[1]["id"])

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
            status, body = 200, self.handle(path, params)
        except SegmentError as exc:
            status, body = 400, {"__type": exc.code, "message": exc.message}
        except (ValueError, TypeError, KeyError) as exc:
            status, body = 400, {"__type": "InvalidRequestException", "message": str(exc)}
        data = json.dumps(body).encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", new_id()),
        ]
        if status != 200:
            headers.append(("x-amzn-ErrorType", body["__type"]))
        reason = "OK" if status == 200 else "Bad Request"
        start_response(f"{status} {reason}", headers)
        return [data]

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


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _state_spans(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(name, type, start, end, error, cause, map iteration) of every state entered."""
    spans: list[dict[str, Any]] = []
    open_spans: dict[str, dict[str, Any]] = {}
    iteration: int | None = None
    for event in events:
        etype = event.get("type", "")
        when = _epoch(event.get("timestamp"))
        if etype == "MapIterationStarted":
            iteration = int(event["mapIterationStartedEventDetails"].get("index", 0))
        elif etype.startswith("MapIteration"):
            iteration = None
        if etype.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            span = {
                "name": name,
                "type": etype[: -len("StateEntered")],
                "start": when,
                "end": when,
                "iteration": iteration,
            }
            spans.append(span)
            open_spans[name] = span
        elif etype.endswith("StateExited"):
            span = open_spans.pop(event["stateExitedEventDetails"]["name"], None)
            if span is not None:
                span["end"] = when
        elif etype == "TaskScheduled" and spans:
            details = event.get("taskScheduledEventDetails") or {}
            try:
                function = json.loads(details.get("parameters") or "{}").get("FunctionName")
            except (ValueError, AttributeError):
                function = None
            if isinstance(function, str):
                name = function.split(":function:")[-1].split(":")[0]
                spans[-1].setdefault("functions", set()).add(name)
        elif etype == "TaskSucceeded" and spans:  # a retry succeeded: no error on the state
            spans[-1].pop("error", None)
            spans[-1].pop("cause", None)
        elif etype in ("TaskFailed", "TaskTimedOut") and spans:
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails")
            spans[-1]["error"] = (details or {}).get("error", etype)
            spans[-1]["cause"] = (details or {}).get("cause", "")
    last = _epoch(events[-1]["timestamp"]) if events else None
    for span in open_spans.values():
        span["end"] = last
    return spans


def attach(aws: Any) -> LocalXRay:
    """Local X-Ray for a LocalAWS (called by LocalAWS.start)."""
    return LocalXRay(aws.account_id, aws.region).attach(aws)
