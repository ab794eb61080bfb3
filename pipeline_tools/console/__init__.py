"""The pipeline's web console: `<endpoint>/_local_aws/console/`.

A run list (filters like `runs list`), a run page (the workflow graph drawn from the ASL with the
path taken highlighted, each state's input/output and errors, the Lambda logs and the X-Ray trace
of that message) and a metrics page (the pipeline's 8 metrics over time). Offline: the page's
libraries (cytoscape, cytoscape-dagre, chart.js) are served from `node_modules/`, installed by
`make console-deps` (`npm ci`, pinned by package-lock.json).

Mounted on the endpoint by `python -m pipeline_tools up` (the endpoint itself knows nothing of
this pipeline). The JSON API behind the page calls the same functions as
`python -m pipeline_tools runs` (pipeline_tools/runs/reader.py), through the AWS APIs of the
endpoint:
    GET api/runs?outcome=&status=&group=&limit=     runs, newest first
    GET api/run?id=<message id | SQS id | execution name | name/index>[&full=1]
    GET api/metrics?minutes=60&period=60
    GET api/health                                  which vendor libraries are installed
"""

from __future__ import annotations

import json
import mimetypes
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from pipeline_tools.runs.reader import (
    RunReader,
    clients_for_endpoint,
    taken_path,
    workflow_graph,
)

PREFIX = "/_local_aws/console/"
STATIC = Path(__file__).resolve().parent / "static"
REPO_ROOT = Path(__file__).resolve().parents[2]

# What the page loads from node_modules (nothing else there is served).
VENDOR_FILES = {
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
    "cytoscape-dagre.min.js": "cytoscape-dagre/dist/cytoscape-dagre.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}


def node_modules() -> Path:
    return Path(os.environ.get("LOCAL_AWS_NODE_MODULES") or REPO_ROOT / "node_modules")


class ConsoleApp:
    """The WSGI application mounted at PREFIX."""

    def __init__(self, endpoint_url: Any) -> None:
        self._endpoint_url = endpoint_url  # a callable: the port is known once listening
        self._reader: RunReader | None = None
        self._lock = threading.Lock()

    @property
    def reader(self) -> RunReader:
        with self._lock:
            if self._reader is None:
                self._reader = RunReader(clients_for_endpoint(self._endpoint_url()))
            return self._reader

    def __call__(self, environ: dict[str, Any], start_response):
        path = environ.get("PATH_INFO", "")
        if path == PREFIX.rstrip("/"):
            start_response("302 Found", [("Location", PREFIX), ("Content-Length", "0")])
            return [b""]
        rest = path[len(PREFIX) :]
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if rest in ("", "index.html"):
                return self._file(start_response, STATIC / "index.html")
            if rest.startswith("static/"):
                return self._file(start_response, _inside(STATIC, rest[len("static/") :]))
            if rest.startswith("vendor/"):
                relative = VENDOR_FILES.get(rest[len("vendor/") :])
                if relative is None:
                    return _text(start_response, 404, "not a vendor file of the console")
                target = node_modules() / relative
                if not target.is_file():
                    return _text(
                        start_response,
                        503,
                        f"{relative} is not installed: run `make console-deps` (npm ci)",
                    )
                return self._file(start_response, target)
            if rest.startswith("api/"):
                return _json(start_response, 200, self.api(rest[len("api/") :], query))
        except LookupError as exc:
            return _json(start_response, 404, {"error": str(exc)})
        except ValueError as exc:
            return _json(start_response, 400, {"error": str(exc)})
        except Exception as exc:  # the page shows it; the stack keeps running
            return _json(start_response, 500, {"error": f"{type(exc).__name__}: {exc}"})
        return _text(start_response, 404, "not found")

    # -- the JSON API (same functions as the CLI) -----------------------------------------------
    def api(self, name: str, query: dict[str, str]) -> dict[str, Any]:
        reader = self.reader
        if name == "runs":
            limit = int(query.get("limit") or 100)
            runs = reader.list_runs(
                outcome=query.get("outcome") or None,
                status=query.get("status") or None,
                group=query.get("group") or None,
                limit=limit,
            )
            return {"runs": [run.to_dict() for run in runs]}
        if name == "run":
            key = query.get("id", "")
            if not key:
                raise ValueError("id is required")
            runs = reader.find_runs(key)
            if not runs:
                raise LookupError(f"no run found for {key!r}")
            full = query.get("full") in ("1", "true")
            out = []
            for run in runs:
                detail = reader.detail(run).to_dict(full=full)
                graph = workflow_graph(reader.definition(run.state_machine_arn))
                detail["graph"] = graph
                detail["taken"] = taken_path(graph, detail["steps"], detail["run"])
                out.append(detail)
            return {"runs": out}
        if name == "metrics":
            return reader.metric_series(
                namespace=query.get("namespace") or None,
                minutes=int(query.get("minutes") or 60),
                period=int(query.get("period") or 60),
            )
        if name == "health":
            return {
                "endpoint": self._endpoint_url(),
                "vendor": {
                    name: (node_modules() / relative).is_file()
                    for name, relative in VENDOR_FILES.items()
                },
            }
        raise LookupError(f"no such API: {name}")

    @staticmethod
    def _file(start_response, path: Path):
        if not path.is_file():
            return _text(start_response, 404, "not found")
        data = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        start_response(
            "200 OK",
            [
                ("Content-Type", kind),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-cache"),
            ],
        )
        return [data]


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if root not in target.parents:
        raise LookupError("outside the console's folder")
    return target


def _json(start_response, status: int, data: Any):
    body = json.dumps(data, default=str).encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    start_response(
        f"{status} {reason.get(status, 'Error')}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


def _text(start_response, status: int, text: str):
    body = text.encode("utf-8")
    reasons = {404: "Not Found", 503: "Service Unavailable"}
    start_response(
        f"{status} {reasons.get(status, 'Error')}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def attach(aws: Any) -> ConsoleApp:
    """Serve the console on a started LocalAWS (`up` does)."""
    app = ConsoleApp(lambda: aws.endpoint_url)
    aws.mount(PREFIX, app)
    return app
