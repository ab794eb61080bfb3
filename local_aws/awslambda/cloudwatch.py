"""Write Lambda logs and Embedded Metric Format metrics straight into moto's backends.

The Lambda runtime runs in the same process as moto, so it writes to moto's CloudWatch Logs and
CloudWatch backends directly (no HTTP round trip, nothing on the hot path but a list append).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.models import logs_backends


def parse_emf(line: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Return [(namespace, metric_data)] for an EMF log line, [] for any other line.

    Follows the EMF specification: `_aws.CloudWatchMetrics[]` directives, each with a Namespace,
    dimension sets (lists of keys whose values are on the root object) and metric definitions
    (Name, Unit) whose values (a number or a list of numbers) are on the root object.
    """
    text = line.strip()
    if not (text.startswith("{") and '"_aws"' in text):
        return []
    try:
        document = json.loads(text)
        meta = document["_aws"]
        directives = meta["CloudWatchMetrics"]
        # moto keeps metric timestamps as naive UTC datetimes
        timestamp = dt.datetime.fromtimestamp(int(meta["Timestamp"]) / 1000, tz=dt.UTC).replace(
            tzinfo=None
        )
    except (ValueError, KeyError, TypeError):
        return []
    result = []
    for directive in directives if isinstance(directives, list) else []:
        try:
            namespace = directive["Namespace"]
            dimension_sets = directive.get("Dimensions") or [[]]
            definitions = directive["Metrics"]
        except (KeyError, TypeError):
            continue
        metric_data = []
        for dimension_keys in dimension_sets:
            try:
                dimensions = [{"Name": key, "Value": str(document[key])} for key in dimension_keys]
            except KeyError:
                continue  # a dimension without a value on the root: CloudWatch drops the set
            for definition in definitions:
                name = definition.get("Name")
                value = document.get(name)
                values = value if isinstance(value, list) else [value]
                values = [
                    float(v)
                    for v in values
                    if isinstance(v, int | float) and not isinstance(v, bool)
                ]
                if not name or not values:
                    continue
                datum: dict[str, Any] = {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Unit": definition.get("Unit", "None"),
                }
                if len(values) == 1:
                    datum["Value"] = values[0]
                else:
                    datum["Values"] = values
                metric_data.append(datum)
        if metric_data:
            result.append((namespace, metric_data))
    return result


class CloudWatchSink:
    """Thread-safe writer into moto's logs and CloudWatch backends for one account/region."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self._lock = threading.Lock()
        self._streams: set[tuple[str, str]] = set()

    @property
    def logs(self):
        return logs_backends[self.account_id][self.region]

    @property
    def metrics(self):
        return cloudwatch_backends[self.account_id][self.region]

    def put_log_events(self, group: str, stream: str, events: Iterable[tuple[float, str]]) -> None:
        """events: (timestamp in epoch ms, message); kept in order, timestamps made monotonic."""
        batch = []
        last = 0
        for timestamp, message in events:
            last = max(int(timestamp), last)
            batch.append({"timestamp": last, "message": message})
        if not batch:
            return
        with self._lock:
            backend = self.logs
            if (group, stream) not in self._streams or group not in backend.groups:
                backend.ensure_log_group(group)
                if stream not in backend.groups[group].streams:
                    backend.create_log_stream(group, stream)
                self._streams.add((group, stream))
            backend.put_log_events(group, stream, batch)

    def put_emf(self, lines: Iterable[str]) -> int:
        """Turn the EMF lines among `lines` into metrics; return how many data points were put."""
        count = 0
        for line in lines:
            for namespace, metric_data in parse_emf(line):
                with self._lock:
                    self.metrics.put_metric_data(namespace, metric_data)
                count += len(metric_data)
        return count
