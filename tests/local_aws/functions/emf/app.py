"""Print one CloudWatch Embedded Metric Format line per invocation."""

import json
import time


def lambda_handler(event, context):
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": event["namespace"],
                            "Dimensions": [[]],
                            "Metrics": [{"Name": "MessagesSaved", "Unit": "Count"}],
                        }
                    ],
                },
                "MessagesSaved": event.get("value", 1),
            }
        )
    )
    return {"ok": True}
