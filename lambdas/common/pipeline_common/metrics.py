"""Success-path metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout.

Why by hand: EMF is a documented JSON shape that Lambda's log pipeline turns into metrics with no
API call on the hot path. Neither aws-xray-sdk nor boto3 writes EMF, and the usual helper (AWS
Lambda Powertools, or aws-embedded-metrics) would be a dependency for one print statement, so the
few lines below are the whole implementation.

Every metric is in one namespace (METRICS_NAMESPACE), with no dimensions ("Dimensions": [[]])
and unit Count, so it is the same metric as the one the Catch branches write with PutMetricData.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

# The pipeline's metrics (docs/contract.md), in the order reports list them: the one list the
# tools, tests and the chaos checker read. The Lambdas write three; the workflow's Catch branches
# write the error metrics with PutMetricData.
METRIC_NAMES = (
    "MessagesSaved",
    "DuplicateMessages",
    "InvalidMessages",
    "MessagesDeleted",
    "DynamoDBCheckError",
    "DynamoDBSaveError",
    "SQSGetURLError",
    "SQSDeleteError",
)
LAMBDA_METRICS = frozenset({"MessagesSaved", "DuplicateMessages", "MessagesDeleted"})
WORKFLOW_METRICS = frozenset(METRIC_NAMES) - LAMBDA_METRICS


class Metrics:
    def __init__(self, namespace: str, *, function: str | None = None) -> None:
        if not namespace:
            raise ValueError("a metrics namespace is required")
        self.namespace = namespace
        self.function = function

    def emit(self, name: str, value: int = 1, **properties: Any) -> dict[str, Any]:
        """Print one EMF line for `name` (Count) and return it as a dict.

        `properties` are extra searchable keys on the log line (not dimensions); pass
        identifiers only, never payload values.
        """
        if name not in METRIC_NAMES:
            raise ValueError(f"unknown metric {name!r}; the names are in docs/contract.md")
        line: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [[]],
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            name: value,
        }
        if self.function:
            line["function"] = self.function
        for key, prop in properties.items():
            if prop is not None and key not in line:
                line[key] = prop
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()
        return line
