"""Echo the event back with facts about the worker and the invocation."""

import os
import sys


def lambda_handler(event, context):
    print(f"echo called with {sorted(event) if isinstance(event, dict) else type(event).__name__}")
    return {
        "event": event,
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "region": os.environ.get("AWS_REGION"),
        "greeting": os.environ.get("GREETING"),
        "sys_path": sys.path,
    }
