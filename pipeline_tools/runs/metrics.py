"""The metrics one run wrote: EMF lines in its Lambda logs and the Catch states' PutMetricData."""

from __future__ import annotations

import json
from typing import Any

from pipeline_tools.runs.history import StateStep, loads


def run_metrics(steps: list[StateStep], logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The metrics a run emitted: EMF lines of its Lambdas, and the Record… states'
    putMetricData calls that succeeded."""
    out: list[dict[str, Any]] = []
    for line in logs:
        if line["kind"] != "emf":
            continue
        data = json.loads(line["message"])
        for directive in data["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                name = metric.get("Name")
                out.append(
                    {
                        "name": name,
                        "value": data.get(name),
                        "unit": metric.get("Unit"),
                        "namespace": directive.get("Namespace"),
                        "source": f"EMF log line ({line['function']})",
                        "timestamp": line["timestamp"],
                    }
                )
    for step in steps:
        for attempt in step.attempts:
            if "putMetricData" not in (attempt.resource or "") or attempt.status != "SUCCEEDED":
                continue
            params = loads(attempt.parameters) or {}
            for datum in params.get("MetricData") or []:
                out.append(
                    {
                        "name": datum.get("MetricName"),
                        "value": datum.get("Value"),
                        "unit": datum.get("Unit"),
                        "namespace": params.get("Namespace"),
                        "source": f"PutMetricData ({step.name})",
                        "timestamp": attempt.ended,
                    }
                )
    return sorted(out, key=lambda m: m["timestamp"] or 0)
